package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/pipe-bench/pipe/host/internal/assets"
	"github.com/pipe-bench/pipe/host/internal/pipeline"
	"github.com/pipe-bench/pipe/host/internal/plugin"
	"github.com/pipe-bench/pipe/sdk/abi"
)

func pluginCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "plugin",
		Usage: "scaffold, build and inspect WebAssembly plugins (metric, target, report)",
		Description: "Plugins are Go packages built with the standard toolchain for GOOS=wasip1 as WASI reactors;\n" +
			"pipe runs them sandboxed. The ABI and the SDK are documented in sdk/README.md.",
		Subcommands: []*ucli.Command{
			{
				Name:      "new",
				Usage:     "scaffold a buildable plugin with a test",
				ArgsUsage: "NAME",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "kind", Value: "metric", Usage: "`metric`, target or report"},
					&ucli.StringFlag{Name: "dir", Usage: "write into `DIR` (default ./NAME)"},
				},
				Action: pluginNew,
			},
			{
				Name:      "build",
				Usage:     "build a plugin directory to .wasm (incremental: unchanged sources skip the build)",
				ArgsUsage: "DIR",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "o", Usage: "write `FILE` (default <cache>/plugins/<base name of DIR>.wasm, where pipelines find it by name)"},
				},
				Action: pluginBuild,
			},
			{
				Name:      "inspect",
				Usage:     "check a .wasm plugin and print its manifest",
				ArgsUsage: "FILE.wasm|NAME",
				Action:    pluginInspect,
			},
		},
	}
}

func pluginNew(c *ucli.Context) error {
	c, args, err := interspersed(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return errors.New("plugin new: want one NAME, e.g. pipe plugin new slowdown --kind metric")
	}
	name := args[0]
	dir := c.String("dir")
	if dir == "" {
		dir = name
	}
	files, err := plugin.Scaffold(dir, name, c.String("kind"))
	if err != nil {
		return fmt.Errorf("plugin new: %w", err)
	}
	for _, f := range files {
		fmt.Fprintf(c.App.Writer, "wrote %s\n", f)
	}
	if base := filepath.Base(filepath.Clean(dir)); base != name {
		fmt.Fprintf(c.App.Writer, "note: `pipe plugin build %s` writes %s.wasm (named after the directory); a pipeline then needs path = \"…/%s.wasm\" with name = %q\n", dir, base, base, name)
	}
	fmt.Fprintf(c.App.Writer, "next: (cd %s && go test .) && pipe plugin build %s\n", dir, dir)
	return nil
}

func pluginBuild(c *ucli.Context) error {
	c, args, err := interspersed(c)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return errors.New("plugin build: want one plugin directory, e.g. pipe plugin build plugins/jitter")
	}
	dir := args[0]
	out := c.String("o")
	if out == "" {
		out = plugin.DefaultBuildPath(dir)
	}
	built, err := plugin.Build(c.Context, dir, out)
	if err != nil {
		return err
	}
	state := "up to date"
	if built {
		state = "built"
	}
	fmt.Fprintf(c.App.Writer, "%s %s\n", state, out)
	return nil
}

func pluginInspect(c *ucli.Context) error {
	if c.NArg() != 1 {
		return errors.New("plugin inspect: want one .wasm file or built plugin name, e.g. pipe plugin inspect jitter")
	}
	path := plugin.ResolvePath(pipeline.PluginSpec{Path: c.Args().First()})
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	h, err := plugin.NewHost(ctx, plugin.HostOptions{CacheDir: filepath.Join(assets.CacheDir(), "wazero")})
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	p, err := h.Inspect(ctx, path)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	w := c.App.Writer
	m := p.Manifest()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "name\t%s\n", m.Name)
	fmt.Fprintf(tw, "version\t%s\n", orDash(m.Version))
	fmt.Fprintf(tw, "description\t%s\n", orDash(m.Description))
	fmt.Fprintf(tw, "abi\tv%d (%s)\n", abi.Version, abi.Marker)
	fmt.Fprintf(tw, "sdk\t%s\n", orDash(m.SDK))
	fmt.Fprintf(tw, "kinds\t%s\n", strings.Join(m.Kinds, ", "))
	fmt.Fprintf(tw, "inputs\t%s\n", orDash(strings.Join(m.Inputs, ", ")))
	if m.Report != nil {
		fmt.Fprintf(tw, "report\tformat %s → %s (%s)\n", m.Report.Format, m.Report.FileName, m.Report.MediaType)
	}
	fmt.Fprintf(tw, "file\t%s (%d bytes, sha256 %s)\n", filepath.Base(path), st.Size(), p.SHA256()[:16])
	tw.Flush()
	if len(m.Metrics) > 0 {
		fmt.Fprintln(w, "\nmetrics:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tUNIT\tBETTER\tDESCRIPTION")
		for _, d := range m.Metrics {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.ID, d.Unit, d.Better, d.Description)
		}
		tw.Flush()
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
