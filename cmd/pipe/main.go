// Command pipe turns LLM-inference benchmarking into reproducible pipelines.
// See README.md; everything it does lives in host/cli.
package main

import (
	"os"

	"github.com/pipe-bench/pipe/host/cli"
)

func main() { os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr)) }
