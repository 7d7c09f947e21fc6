{{/* vim: set filetype=mustache: */}}
{{- define "ingress.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ingress.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ingress.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ingress.controller.fullname" -}}
{{- printf "%s-%s" (include "ingress.fullname" .) .Values.controller.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ingress.labels" -}}
helm.sh/chart: {{ include "ingress.chart" . }}
{{ include "ingress.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/part-of: {{ template "ingress.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ingress.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ingress.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ingress.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "ingress.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/* An image reference from a dict with registry, image, tag and digest. */}}
{{- define "ingress.image" -}}
{{- $tag := .image.tag | default .appVersion | toString -}}
{{- if .image.digest -}}
{{- printf "%s/%s:%s@%s" .image.registry .image.image $tag .image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" .image.registry .image.image $tag -}}
{{- end -}}
{{- end -}}

{{- define "ingress.electionID" -}}
{{- $election := .Values.controller.electionID -}}
{{- if not $election -}}
{{- $election = printf "%s-leader" (include "ingress.fullname" .) -}}
{{- end -}}
{{- $election -}}
{{- end -}}

{{- define "ingress.podDisruptionBudget.apiVersion" -}}
{{- if .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}
