//go:build !wasip1

package sdk

import "embed"

// Source is the SDK's own Go source — this package, sdk/abi, sdk/schema and
// sdk/sdktest, test files included — embedded so that `pipe plugin new`
// can vendor the SDK into a new plugin module wherever pipe is installed
// (host/internal/plugin.Scaffold). It is the source the pipe binary was built
// from, so the copy cannot drift. Plugins (GOOS=wasip1) do not link it.
//
//go:embed *.go abi/*.go schema/*.go sdktest/*.go
var Source embed.FS
