package cli

// The HTML report registers the "html" format in host/report's registry at
// start-up; pipe run and pipe report reach it through this import.
import _ "github.com/pipe-bench/pipe/host/htmlreport"
