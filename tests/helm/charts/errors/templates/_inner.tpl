{{- define "errors.inner" -}}
{{ required "inner value required" .Values.inner }}
{{- end -}}
