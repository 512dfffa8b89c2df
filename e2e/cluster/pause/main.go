// Command pause is the sandbox ("pause") container of the end-to-end node: it holds a Pod's
// namespaces and does nothing else until it is told to stop. Built here, statically, because no
// image can be pulled from outside; e2e/scripts/node-up.sh puts it in an image of its own.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
