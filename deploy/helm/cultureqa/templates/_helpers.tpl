{{/*
The chart's name.
*/}}
{{- define "cultureqa.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name, the first part of every object's name. A release whose name contains
the chart's is used as it is (release "cultureqa": cultureqa-api, as deploy/kubernetes names it).
Cut at 55 characters, so that <fullname>-api, a Service's name, and -builder stay within the 63
of a DNS label.
*/}}
{{- define "cultureqa.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The chart's name and version, for the helm.sh/chart label.
*/}}
{{- define "cultureqa.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "cultureqa.labels" -}}
helm.sh/chart: {{ include "cultureqa.chart" . }}
{{ include "cultureqa.selectorLabels" . }}
app.kubernetes.io/part-of: cultureqa
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the release's pods; each Deployment adds its component.
*/}}
{{- define "cultureqa.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cultureqa.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The API pods: the Service, the disruption budget and the spread select these.
*/}}
{{- define "cultureqa.apiSelectorLabels" -}}
{{ include "cultureqa.selectorLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{/*
The builder's pod.
*/}}
{{- define "cultureqa.builderSelectorLabels" -}}
{{ include "cultureqa.selectorLabels" . }}
app.kubernetes.io/component: builder
{{- end }}

{{/*
The image, tagged with the chart's appVersion unless image.tag says otherwise.
*/}}
{{- define "cultureqa.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The Secret the pods read: the one named in secrets.existingSecret, or the chart's.
*/}}
{{- define "cultureqa.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "cultureqa.fullname" .)) }}
{{- end }}

{{/*
The shared volume's claim: secrets' twin for persistence.existingClaim.
*/}}
{{- define "cultureqa.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "cultureqa.fullname" .)) }}
{{- end }}

{{/*
The settings that are secrets: refused in `settings`, read only from the Secret.
*/}}
{{- define "cultureqa.secretSettings" -}}
CULTUREQA_DATABASE_URL CULTUREQA_REDIS_URL CULTUREQA_ADMIN_KEYS CULTUREQA_API_KEYS CULTUREQA_COLLECTION_KEYS CULTUREQA_HASH_SALT
{{- end }}

{{/*
What both Deployments' pods share: the settings and the secrets as variables (their checksums
in the pod template roll the pods when either changes, as Kustomize's hashed ConfigMap name
does), the shared volume at /data, each pod's own cache at /cache.
*/}}
{{- define "cultureqa.envFrom" -}}
- configMapRef:
    name: {{ include "cultureqa.fullname" . }}-settings
- secretRef:
    name: {{ include "cultureqa.secretName" . }}
{{- end }}

{{- define "cultureqa.checksums" -}}
checksum/settings: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secrets: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{- define "cultureqa.volumeMounts" -}}
- name: data
  mountPath: /data
- name: cache
  mountPath: /cache
{{- end }}

{{- define "cultureqa.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ include "cultureqa.claimName" . }}
- name: cache
  emptyDir: {}
{{- end }}
