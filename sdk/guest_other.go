//go:build !wasip1

package sdk

import (
	"fmt"
	"os"
)

// hostLog is the native stand-in for the log import: lines go to stderr.
func hostLog(level uint32, msg string) {
	names := [...]string{"debug", "info", "warn", "error"}
	name := "log"
	if int(level) < len(names) {
		name = names[level]
	}
	fmt.Fprintf(os.Stderr, "plugin %s: %s\n", name, msg)
}
