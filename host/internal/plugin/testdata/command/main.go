// Command command is a correct plugin built the wrong way: the test builds
// it without -buildmode=c-shared, as a WASI command.
package main

import "github.com/pipe-bench/pipe/sdk"

func init() {
	sdk.Register(sdk.Plugin{Name: "command", Render: nil, Target: func(*sdk.Result) ([]sdk.Verdict, error) { return nil, nil }})
}

func main() {}
