// Command etcd is etcd's own server entry point, built from go.etcd.io/etcd/server/v3 3.6.x.
// It has its own module because k8s.io/kubernetes v1.37 requires the etcd 3.7 server packages
// (as a library), while the server we run is pinned to 3.6.x in versions.env.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
