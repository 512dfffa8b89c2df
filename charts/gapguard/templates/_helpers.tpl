{{/* Names, labels and the shared pieces of the webhook configurations. */}}

{{- define "gapguard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gapguard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gapguard.labels" -}}
{{ include "gapguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "gapguard.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "gapguard.fullname" .) -}}
{{- end -}}

{{- define "gapguard.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "gapguard.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* repository:tag@digest when a digest is set, repository:tag otherwise. */}}
{{- define "gapguard.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- if .Values.image.digest -}}
{{- $ref = printf "%s@%s" $ref .Values.image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* The DNS names the kube-apiserver may use to reach the Service, as a JSON list. */}}
{{- define "gapguard.dnsNames" -}}
{{- $svc := include "gapguard.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | toJson -}}
{{- end -}}

{{/*
The chart-generated CA and serving certificate (tls.mode=generate), as JSON {crt, key, ca, bundle}
(each base64 PEM) plus the notAfter and dnsNames recorded on the Secret. An existing Secret is
reused, so upgrades keep the pair, unless it lacks a key, was made for other DNS names, or expires
within renewBeforeDays. The result is memoised on the root context: the Secret and the webhook
configurations are rendered from the same pair.
bundle is what the webhooks trust: the CA, and after a renewal also the CA before it. The upgrade
that renews writes the new caBundle at once, while the Pods serve the old certificate until the
kubelet refreshes the mounted Secret (up to its sync period, a minute by default) and the server
reloads it; trusting only the new CA would fail every enforce call in between. The previous CA is
dropped at the next renewal.
*/}}
{{- define "gapguard.generatedTLS" -}}
{{- if not (hasKey . "gapguardGeneratedTLS") -}}
{{- $dnsNames := include "gapguard.dnsNames" . | fromJsonArray -}}
{{- $settings := .Values.tls.generate -}}
{{- $renewAfter := now | dateModify (printf "+%dh" (mul 24 (int $settings.renewBeforeDays))) -}}
{{- $tls := dict -}}
{{- $previousCa := "" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "gapguard.tlsSecretName" .) -}}
{{- if $existing -}}
{{- $data := $existing.data | default dict -}}
{{- $previousCa = get $data "ca.crt" -}}
{{- $annotations := $existing.metadata.annotations | default dict -}}
{{- $notAfter := toDate "2006-01-02T15:04:05Z07:00" (get $annotations "gapguard.io/not-after") -}}
{{- if and (get $data "tls.crt") (get $data "tls.key") (get $data "ca.crt")
      (eq (get $annotations "gapguard.io/dns-names") (join "," $dnsNames))
      (gt $notAfter.Unix $renewAfter.Unix) -}}
{{- $tls = dict "crt" (get $data "tls.crt") "key" (get $data "tls.key") "ca" (get $data "ca.crt") "bundle" (get $data "ca-bundle.crt" | default (get $data "ca.crt")) "notAfter" (get $annotations "gapguard.io/not-after") -}}
{{- end -}}
{{- end -}}
{{- if not $tls -}}
{{- $days := int $settings.validityDays -}}
{{- $ca := genCA (printf "%s-ca" (include "gapguard.fullname" .)) $days -}}
{{- $cert := genSignedCert (index $dnsNames 2) nil $dnsNames $days $ca -}}
{{- $notAfter := dateInZone "2006-01-02T15:04:05Z07:00" (now | dateModify (printf "+%dh" (mul 24 $days))) "UTC" -}}
{{- $bundle := $ca.Cert -}}
{{- if $previousCa -}}
{{- $bundle = printf "%s\n%s" (trimSuffix "\n" $ca.Cert) (b64dec $previousCa) -}}
{{- end -}}
{{- $tls = dict "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) "ca" ($ca.Cert | b64enc) "bundle" ($bundle | b64enc) "notAfter" $notAfter -}}
{{- end -}}
{{- $_ := set $tls "dnsNames" (join "," $dnsNames) -}}
{{- $_ := set . "gapguardGeneratedTLS" $tls -}}
{{- end -}}
{{- get . "gapguardGeneratedTLS" | toJson -}}
{{- end -}}

{{/* The base64 CA bundle the webhook configurations trust; empty when cert-manager injects it. */}}
{{- define "gapguard.caBundle" -}}
{{- if .Values.webhook.url -}}
{{- .Values.webhook.caBundle -}}
{{- else if eq .Values.tls.mode "generate" -}}
{{- (include "gapguard.generatedTLS" . | fromJson).bundle -}}
{{- else if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.secret.caBundle -}}
{{- end -}}
{{- end -}}

{{/* Annotations of both webhook configurations. */}}
{{- define "gapguard.webhookAnnotations" -}}
{{- $annotations := deepCopy .Values.webhook.annotations -}}
{{- if and (eq .Values.tls.mode "cert-manager") (not .Values.webhook.url) -}}
{{- $_ := set $annotations "cert-manager.io/inject-ca-from" (printf "%s/%s-serving" .Release.Namespace (include "gapguard.fullname" .)) -}}
{{- end -}}
{{- with $annotations -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
Namespaces gapguard never judges, comma-separated: kube-system, the release namespace and
webhook.excludedNamespaces. The one list behind the webhooks' namespaceSelector, the background
audit's --excluded-namespaces and the install notes.
*/}}
{{- define "gapguard.excludedNamespaces" -}}
{{- concat (list "kube-system" .Release.Namespace) .Values.webhook.excludedNamespaces | uniq | join "," -}}
{{- end -}}

{{/*
One webhook of a configuration. Arguments: root, endpoint (validate|mutate), route (enforce|audit).
Enforce fails closed; audit fails open, is capped at audit by its path, and so can never block.
The paths carry the route as a segment: the kube-apiserver refuses query strings in webhook URLs
and requires DNS-1123 path segments for Services.
*/}}
{{- define "gapguard.webhook" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
{{- $enforce := eq .route "enforce" -}}
{{- $path := printf "/%s/%s" .endpoint .route -}}
{{- $caBundle := include "gapguard.caBundle" $root -}}
- name: {{ printf "%s.%s.gapguard.io" .route .endpoint }}
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: {{ ternary "Fail" "Ignore" $enforce }}
  matchPolicy: Equivalent
  timeoutSeconds: {{ ternary $values.webhook.timeoutSeconds.enforce $values.webhook.timeoutSeconds.audit $enforce }}
  {{- if eq .endpoint "mutate" }}
  {{- /* Re-run the enforce patch when a later mutating webhook (a sidecar injector) adds containers;
         the audit route never patches, so re-running it would only repeat its warnings. */}}
  reinvocationPolicy: {{ ternary "IfNeeded" "Never" $enforce }}
  {{- end }}
  clientConfig:
    {{- if $values.webhook.url }}
    url: {{ printf "%s%s" (trimSuffix "/" $values.webhook.url) $path | quote }}
    {{- else }}
    service:
      name: {{ include "gapguard.fullname" $root }}
      namespace: {{ $root.Release.Namespace }}
      path: {{ $path }}
      port: 443
    {{- end }}
    {{- with $caBundle }}
    caBundle: {{ . }}
    {{- end }}
  namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values:
          {{- toYaml (splitList "," (include "gapguard.excludedNamespaces" $root)) | nindent 10 }}
      {{- /* Namespaces whose gapguard.io/mode label resolves to this route, given the global mode. */}}
      - key: gapguard.io/mode
      {{- if eq $values.mode .route }}
        operator: NotIn
        values: [{{ ternary "audit" "enforce" $enforce }}, "off"]
      {{- else }}
        operator: In
        values: [{{ .route }}]
      {{- end }}
  {{- /* The mutating webhook leaves out what it must not patch: Pods after creation (their spec
         is immutable: a patch on UPDATE would make the kube-apiserver refuse the whole update, even a
         label change), ephemeral containers (unchangeable once added), and ReplicaSets (the
         Deployment controller compares their template with the Deployment's and would create
         ReplicaSet after ReplicaSet). Pods are patched when they are created and validated always. */}}
  {{- $validate := eq .endpoint "validate" }}
  rules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [{{ if $validate }}pods, pods/ephemeralcontainers, {{ end }}replicationcontrollers, podtemplates]
      scope: Namespaced
    {{- if not $validate }}
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
      scope: Namespaced
    {{- end }}
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments, {{ if $validate }}replicasets, {{ end }}statefulsets, daemonsets]
      scope: Namespaced
    - apiGroups: [batch]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [jobs, cronjobs]
      scope: Namespaced
  matchConditions:
    {{- /* Kubelets only create mirror Pods of static Pods, which run whatever the API answers:
           refusing one would only hide a running Pod from the API. */}}
    - name: not-a-kubelet
      expression: "!request.userInfo.username.startsWith('system:node:')"
    {{- /* Only the pod template is judged, and an UPDATE that leaves it as it was cannot add a gap:
           skip label, annotation, finalizer and owner changes. */}}
    - name: pod-spec-changed
      expression: "request.operation != 'UPDATE' || (has(object.template) ? object.template != oldObject.template : object.spec != oldObject.spec)"
{{- end -}}

{{/*
A memory quantity in bytes (values.schema.json admits a number of bytes, or a decimal with one of
Kubernetes' suffixes).
*/}}
{{- define "gapguard.memoryBytes" -}}
{{- if kindIs "string" . -}}
{{- $number := regexFind "^([0-9]+([.][0-9]+)?|[.][0-9]+)" . -}}
{{- $unit := get (dict "" 1 "m" 0.001 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 "E" 1000000000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "Ei" 1152921504606846976) (trimPrefix $number .) -}}
{{- mulf (float64 $number) $unit -}}
{{- else -}}
{{- float64 . -}}
{{- end -}}
{{- end -}}

{{/*
The server's resources. With backgroundAudit.enabled, the audit's memory is added to the memory
request and limit: backgroundAudit.sizing.memoryBase MiB (its thread), and
backgroundAudit.sizing.memoryPerThousandPods MiB for every 1,000 Pods (begun) of
backgroundAudit.sizing.expectedPods, rounded up to a whole MiB.
*/}}
{{- define "gapguard.resources" -}}
{{- $resources := deepCopy .Values.resources -}}
{{- $sizing := .Values.backgroundAudit.sizing -}}
{{- $auditMi := add (int $sizing.memoryBase) (mul (div (add (int $sizing.expectedPods) 999) 1000) (int $sizing.memoryPerThousandPods)) -}}
{{- if and .Values.backgroundAudit.enabled (gt $auditMi 0) -}}
{{- range $kind := list "requests" "limits" -}}
{{- $memory := dig $kind "memory" "" $resources -}}
{{- if $memory -}}
{{- $mi := ceil (divf (include "gapguard.memoryBytes" $memory) 1048576) | int -}}
{{- $_ := set (get $resources $kind) "memory" (printf "%dMi" (add $mi $auditMi)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $resources -}}
{{- end -}}
