//go:build tools

// Package tools records the command packages built by
// e2e/scripts/build-binaries.sh so that `go mod tidy` keeps their whole
// dependency graph in go.mod/go.sum. The build tag keeps it out of any build.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"                     // etcd
	_ "k8s.io/kubernetes/cmd/kube-apiserver"          // kube-apiserver
	_ "k8s.io/kubernetes/cmd/kube-controller-manager" // kube-controller-manager
	_ "k8s.io/kubernetes/cmd/kube-proxy"              // kube-proxy (the node)
	_ "k8s.io/kubernetes/cmd/kube-scheduler"          // kube-scheduler
	_ "k8s.io/kubernetes/cmd/kubectl"                 // kubectl (k8s.io/kubectl/pkg/cmd)
	_ "k8s.io/kubernetes/cmd/kubelet"                 // kubelet (the node)
)
