{{/*
Rules that tie several values together, with the reason in the message. values.schema.json checks
each value on its own.
*/}}
{{- define "gapguard.validateValues" -}}
{{- $v := .Values -}}
{{- if and (not $v.server.enabled) (not $v.webhook.url) -}}
{{- fail "webhook.url is required when server.enabled is false: with no server in the cluster, the webhook configurations need the address of the one outside it" -}}
{{- end -}}
{{- if and $v.webhook.url (not $v.webhook.caBundle) -}}
{{- fail "webhook.caBundle is required with webhook.url: the base64 PEM of the CA that signed the out-of-cluster server's certificate" -}}
{{- end -}}
{{- if and $v.server.enabled (eq $v.tls.mode "secret") (not $v.tls.secret.name) -}}
{{- fail "tls.secret.name is required when tls.mode is secret: the name of an existing kubernetes.io/tls Secret in the release namespace" -}}
{{- end -}}
{{- $lookups := $v.imageLookups -}}
{{- if and (not $lookups.enabled) (or $lookups.authSecret $lookups.caConfigMap $lookups.plainHttpRegistries) -}}
{{- fail "imageLookups.authSecret, caConfigMap and plainHttpRegistries have no effect unless imageLookups.enabled is true" -}}
{{- end -}}
{{- $signatures := dig "unverified-image" "signatures" list ($v.policy.gaps | default dict) -}}
{{- if and $signatures (not $lookups.enabled) -}}
{{- fail "policy.gaps.unverified-image.signatures needs imageLookups.enabled: true: signatures are fetched from the images' registries, and without lookups every image under a requirement is denied as unverifiable" -}}
{{- end -}}
{{- $names := dict -}}
{{- range $v.signatures.mounts -}}
{{- if hasKey $names .name -}}
{{- fail (printf "signatures.mounts: the name %q appears twice; each is mounted at /etc/gapguard/signatures/<name>/" .name) -}}
{{- end -}}
{{- $_ := set $names .name true -}}
{{- end -}}
{{- $timeout := min (int $v.webhook.timeoutSeconds.enforce) (int $v.webhook.timeoutSeconds.audit) -}}
{{- /* Only the chart's own server does lookups; an out-of-cluster one (server.enabled=false) has its own flags. */ -}}
{{- if and $v.server.enabled $lookups.enabled (gt (add (int $lookups.budgetMs) 1000) (mul $timeout 1000)) -}}
{{- fail (printf "imageLookups.budgetMs (%d) must be at least a second under the shorter webhook timeout (%d s): the kube-apiserver stops waiting at the timeout, and the answer needs time after the lookups" (int $lookups.budgetMs) $timeout) -}}
{{- end -}}
{{- end -}}
