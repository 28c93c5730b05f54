// Command etcd is the etcd server of the embedded Kubernetes control plane, built from its
// published module (etcd's own main package lives in a module that replaces its siblings with
// local folders, so `go install` refuses it).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
