{{- define "appgen.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "appgen.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: pass (dict "root" $ "component" "api"). */}}
{{- define "appgen.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "appgen.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The artifact store's URI, as --artifacts takes it. */}}
{{- define "appgen.artifacts" -}}
{{- if eq .Values.artifacts.type "s3" -}}
{{- printf "s3://%s" .Values.artifacts.s3.bucket -}}{{- with .Values.artifacts.s3.prefix }}/{{ . | trimPrefix "/" }}{{- end -}}
{{- else -}}
file:///var/lib/appgen/artifacts
{{- end -}}
{{- end -}}

{{- define "appgen.artifactsClaim" -}}
{{- .Values.artifacts.pvc.existingClaim | default (printf "%s-artifacts" (include "appgen.fullname" .)) -}}
{{- end -}}

{{/* A container's security context for the restricted Pod Security Standard. */}}
{{- define "appgen.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "appgen.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.podSecurityContext.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.podSecurityContext.runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
{{- with .Values.podSecurityContext.fsGroup }}
fsGroup: {{ . }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The artifact store's settings, shared by the controller and the api (none of them secret). */}}
{{- define "appgen.storeEnv" -}}
- name: APPGEN_ARTIFACTS
  value: {{ include "appgen.artifacts" . | quote }}
{{- if eq .Values.artifacts.type "s3" }}
- name: AWS_REGION
  value: {{ .Values.artifacts.s3.region | quote }}
{{- with .Values.artifacts.s3.endpoint }}
- name: AWS_ENDPOINT_URL_S3
  value: {{ . | quote }}
{{- end }}
- name: APPGEN_S3_FORCE_PATH_STYLE
  value: {{ .Values.artifacts.s3.forcePathStyle | quote }}
{{- with .Values.artifacts.s3.credentials }}
{{- if .secretName }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .secretAccessKeyKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Environment variables read from existing Secrets: a list of {name, secretName, key}. */}}
{{- define "appgen.secretEnv" -}}
{{- range . }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
{{- end }}
{{- end -}}
