package cli

import (
	"bytes"
)

// runPipe runs the command line and returns its exit code, stdout and stderr.
func runPipe(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Main(append([]string{"pipe"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}
