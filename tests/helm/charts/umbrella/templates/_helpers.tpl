{{- define "umbrella.fullname" -}}
{{ include "common.names.fullname" . }}
{{- end }}
