{{/* Chart name, overridable. */}}
{{- define "benchgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full resource name: <release>-benchgate unless the release name already says benchgate. */}}
{{- define "benchgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "benchgate.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "benchgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades (Deployment selectors are immutable). */}}
{{- define "benchgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "benchgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Standard labels on every object. */}}
{{- define "benchgate.labels" -}}
helm.sh/chart: {{ include "benchgate.chart" . }}
{{ include "benchgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: benchgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "benchgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "benchgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "benchgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The operator's API permissions: exactly benchgate/k8s/calls.py (API_CALLS), which the
operator's client wrappers enforce; tests/chart/test_chart_rbac.py fails when the two
disagree. Namespaced rules apply to the watched namespaces (cluster-wide when none are
listed); cluster-scoped rules (Nodes) are always cluster-wide. No Secrets, no wildcards.
*/}}
{{- define "benchgate.namespacedRules" -}}
- apiGroups: ["benchgate.dev"]
  resources: ["regressionsuites"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["benchgate.dev"]
  resources: ["verificationruns"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["benchgate.dev"]
  resources: ["regressionbaselines"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["benchgate.dev"]
  resources: ["regressionsuites/status", "verificationruns/status", "regressionbaselines/status"]
  verbs: ["patch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "create"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{- define "benchgate.clusterRules" -}}
- apiGroups: [""]
  resources: ["nodes"]
  {{- if .Values.gating.enabled }}
  # spec.gating: read a node fresh and replace its taints (benchgate/k8s/calls.py)
  verbs: ["list", "watch", "get", "patch"]
  {{- else }}
  verbs: ["list", "watch"]
  {{- end }}
# kopf itself lists and watches CRDs to follow the resources it serves (seen in the
# sandbox's request audit by tests/e2e/test_alerting.py).
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end -}}
