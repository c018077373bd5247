{{/* Names, labels and the pieces templates/services.yaml puts together for every service. */}}

{{- define "labelloop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "labelloop.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "labelloop.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "labelloop.labels" -}}
helm.sh/chart: {{ include "labelloop.chart" . }}
app.kubernetes.io/name: {{ include "labelloop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: labelloop
{{- end }}

{{/* Labels that select every pod of this release (the deny-all NetworkPolicy's scope). */}}
{{- define "labelloop.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "labelloop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "dataset"). */}}
{{- define "labelloop.selectorLabels" -}}
{{ include "labelloop.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Object name of one component: <fullname>-<component>. */}}
{{- define "labelloop.componentName" -}}
{{- printf "%s-%s" (include "labelloop.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A service's values: `defaults` deep-merged with services.<name>, as YAML (use with fromYaml). */}}
{{- define "labelloop.serviceValues" -}}
{{- $service := index .root.Values.services .name }}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $service)) }}
{{- end }}

{{/* host:port of a gRPC service inside the cluster. Call with (dict "root" $ "name" "dataset"). */}}
{{- define "labelloop.grpcAddress" -}}
{{- $callee := index .root.Values.services .name }}
{{- printf "%s:%v" (include "labelloop.componentName" (dict "root" .root "component" .name)) $callee.ports.grpc }}
{{- end }}

{{/* Image reference of a service. Call with (dict "root" $ "name" "trainer" "svc" $svc "suffix" "-gpu"). */}}
{{- define "labelloop.image" -}}
{{- $image := .svc.image | default dict }}
{{- $repository := $image.repository | default (printf "%s/%s/%s" .root.Values.image.registry .root.Values.image.repositoryPrefix .name) }}
{{- $tag := $image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- printf "%s:%s%s" $repository $tag (.suffix | default "") }}
{{- end }}

{{/* Fails on infrastructure settings that contradict each other. */}}
{{- define "labelloop.validate" -}}
{{- if and .Values.bundled.postgresql.enabled .Values.database.existingSecret }}
{{- fail "set either bundled.postgresql.enabled or database.existingSecret, not both" }}
{{- end }}
{{- if not (or .Values.bundled.postgresql.enabled .Values.database.existingSecret) }}
{{- fail "database.existingSecret is required (a Secret with the postgres:// URL) unless bundled.postgresql.enabled" }}
{{- end }}
{{- if and .Values.bundled.nats.enabled .Values.nats.existingSecret }}
{{- fail "set either bundled.nats.enabled or nats.existingSecret, not both" }}
{{- end }}
{{- if not (or .Values.bundled.nats.enabled .Values.nats.existingSecret) }}
{{- fail "nats.existingSecret is required (a Secret with the NATS URL) unless bundled.nats.enabled" }}
{{- end }}
{{- if and .Values.bundled.minio.enabled (or .Values.s3.endpoint .Values.s3.existingSecret) }}
{{- fail "set either bundled.minio.enabled or s3.endpoint / s3.existingSecret, not both" }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the database URL. */}}
{{- define "labelloop.databaseSecret" -}}
{{- if .Values.bundled.postgresql.enabled }}{{ include "labelloop.componentName" (dict "root" . "component" "postgresql") }}
{{- else }}{{ .Values.database.existingSecret }}
{{- end }}
{{- end }}

{{- define "labelloop.natsSecret" -}}
{{- if .Values.bundled.nats.enabled }}{{ include "labelloop.componentName" (dict "root" . "component" "nats") }}
{{- else }}{{ .Values.nats.existingSecret }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the internal gRPC token; empty when the gRPC ports are open. */}}
{{- define "labelloop.internalTokenSecret" -}}
{{- if .Values.internalToken.existingSecret }}{{ .Values.internalToken.existingSecret }}
{{- else if .Values.internalToken.generate }}{{ include "labelloop.componentName" (dict "root" . "component" "internal-token") }}
{{- end }}
{{- end }}

{{/* Where the grpcTls Secret is mounted in every service's container. */}}
{{- define "labelloop.grpcTlsDir" -}}/etc/labelloop/grpc-tls{{- end }}

{{/* Name of the Secret with S3 credentials; empty when the SDK's default chain is used. */}}
{{- define "labelloop.s3Secret" -}}
{{- if .Values.bundled.minio.enabled }}{{ include "labelloop.componentName" (dict "root" . "component" "minio") }}
{{- else }}{{ .Values.s3.existingSecret }}
{{- end }}
{{- end }}

{{- define "labelloop.s3Endpoint" -}}
{{- if .Values.bundled.minio.enabled }}{{ printf "http://%s:9000" (include "labelloop.componentName" (dict "root" . "component" "minio")) }}
{{- else }}{{ .Values.s3.endpoint }}
{{- end }}
{{- end }}

{{/*
The container environment of one service: ports, `config` (camelCase key → SCREAMING_SNAKE_CASE
variable), addresses of the services it calls, infrastructure from Secrets, downward-API fields,
then extraEnv. deploy/test/env-drift.test.ts checks this list against each service's config.ts.
Call with (dict "root" $ "name" "dataset" "svc" $svc).
*/}}
{{- define "labelloop.env" -}}
{{- $root := .root }}
{{- $svc := .svc }}
{{- if eq $svc.protocol "http" }}
- name: PORT
  value: {{ $svc.ports.http | quote }}
{{- else }}
- name: GRPC_PORT
  value: {{ $svc.ports.grpc | quote }}
- name: METRICS_PORT
  value: {{ $svc.ports.metrics | quote }}
{{- end }}
{{- range $key, $value := $svc.config }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ $key | snakecase | upper }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- range $callee, $variable := $svc.calls }}
{{- /* A call to a disabled service is left out: the caller keeps its default address and answers 503 for that part. */}}
{{- if and $variable (index $root.Values.services $callee | default dict).enabled }}
- name: {{ $variable }}
  value: {{ include "labelloop.grpcAddress" (dict "root" $root "name" $callee) | quote }}
{{- end }}
{{- end }}
{{- $uses := $svc.uses | default dict }}
{{- if $uses.database }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "labelloop.databaseSecret" $root }}
      key: {{ $root.Values.database.urlKey }}
{{- end }}
{{- if $uses.s3 }}
{{- with include "labelloop.s3Endpoint" $root }}
- name: S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: S3_REGION
  value: {{ $root.Values.s3.region | quote }}
- name: S3_BUCKET
  value: {{ $root.Values.s3.bucket | quote }}
{{- if not (kindIs "invalid" $root.Values.s3.forcePathStyle) }}
- name: S3_FORCE_PATH_STYLE
  value: {{ $root.Values.s3.forcePathStyle | toString | quote }}
{{- end }}
{{- with include "labelloop.s3Secret" $root }}
- name: S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $root.Values.s3.accessKeyIdKey }}
- name: S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $root.Values.s3.secretAccessKeyKey }}
{{- end }}
{{- end }}
{{- if $uses.nats }}
- name: NATS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "labelloop.natsSecret" $root }}
      key: {{ $root.Values.nats.urlKey }}
- name: EVENTS_STREAM
  value: {{ $root.Values.events.stream | quote }}
- name: EVENTS_SUBJECT_PREFIX
  value: {{ $root.Values.events.subjectPrefix | quote }}
{{- end }}
{{- if and $uses.adminKey $root.Values.adminKey.existingSecret }}
- name: LABELLOOP_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.adminKey.existingSecret }}
      key: {{ $root.Values.adminKey.key }}
{{- end }}
{{- with include "labelloop.internalTokenSecret" $root }}
- name: INTERNAL_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $root.Values.internalToken.key }}
{{- end }}
{{- if $root.Values.grpcTls.existingSecret }}
{{- $dir := include "labelloop.grpcTlsDir" $root }}
- name: GRPC_TLS_CERT
  value: {{ printf "%s/tls.crt" $dir | quote }}
- name: GRPC_TLS_KEY
  value: {{ printf "%s/tls.key" $dir | quote }}
- name: GRPC_TLS_CA
  value: {{ printf "%s/ca.crt" $dir | quote }}
{{- end }}
{{- range $variable, $fieldPath := $svc.fieldEnv }}
- name: {{ $variable }}
  valueFrom:
    fieldRef:
      fieldPath: {{ $fieldPath }}
{{- end }}
{{- with $svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Probes. gRPC services: startup and readiness are native gRPC probes (grpc.health.v1, overall
status ""); liveness only checks that the port accepts connections, because the health status
turns NOT_SERVING while a hard dependency (database, NATS) is down and restarting the pod would
not bring it back. The gateway: /healthz (alive) and /readyz (dataset service and database answer).
*/}}
{{- define "labelloop.probes" -}}
{{- $svc := .svc }}
{{- $tls := .tls }}
{{- $probes := $svc.probes }}
{{- if eq $svc.protocol "http" }}
startupProbe:
  httpGet: { path: /healthz, port: http }
  {{- toYaml $probes.startup | nindent 2 }}
livenessProbe:
  httpGet: { path: /healthz, port: http }
  {{- toYaml $probes.liveness | nindent 2 }}
readinessProbe:
  httpGet: { path: /readyz, port: http }
  {{- toYaml $probes.readiness | nindent 2 }}
{{- else }}
{{- /* The kubelet's gRPC probe cannot speak TLS: with grpcTls the port is probed over TCP. */}}
startupProbe:
  {{- if $tls }}
  tcpSocket: { port: grpc }
  {{- else }}
  grpc: { port: {{ $svc.ports.grpc }} }
  {{- end }}
  {{- toYaml $probes.startup | nindent 2 }}
livenessProbe:
  tcpSocket: { port: grpc }
  {{- toYaml $probes.liveness | nindent 2 }}
readinessProbe:
  {{- if $tls }}
  tcpSocket: { port: grpc }
  {{- else }}
  grpc: { port: {{ $svc.ports.grpc }} }
  {{- end }}
  {{- toYaml $probes.readiness | nindent 2 }}
{{- end }}
{{- end }}

{{/*
A generated password for a bundled part, kept across upgrades: read back from the part's Secret
when it exists (lookup answers nothing under `helm template`, which then makes a new one).
Call with (dict "root" $ "secret" <name> "key" <key>).
*/}}
{{- define "labelloop.keptPassword" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}

{{/* Storage of a bundled part's PersistentVolumeClaim template. Call with (dict "root" $ "size" "2Gi"). */}}
{{- define "labelloop.bundledStorage" -}}
accessModes: [ReadWriteOnce]
{{- with .root.Values.bundled.storageClassName }}
storageClassName: {{ . }}
{{- end }}
resources:
  requests:
    storage: {{ .size }}
{{- end }}

{{/* NetworkPolicy peers: the pods of every enabled service that uses `part` (database, s3, nats). */}}
{{- define "labelloop.peersUsing" -}}
{{- $root := .root }}
{{- range $name, $raw := $root.Values.services }}
{{- $uses := $raw.uses | default dict }}
{{- if and $raw.enabled (index $uses $.part) }}
- podSelector:
    matchLabels:
      {{- include "labelloop.selectorLabels" (dict "root" $root "component" $name) | nindent 6 }}
{{- end }}
{{- end }}
- podSelector:
    matchLabels:
      {{- include "labelloop.selectorLabels" (dict "root" $root "component" "tests") | nindent 6 }}
{{- end }}
