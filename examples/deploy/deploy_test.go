package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/pipe-bench/pipe/host/cli"
)

// repoRoot is the checkout: the deploy files name pipelines relative to it
// (the container's working directory, the Slurm submit directory, the CI
// checkout).
const repoRoot = "../.."

// manifest is one document of a Kubernetes YAML file, decoded strictly.
type manifest struct {
	file string
	job  *batchv1.Job
	pvc  *corev1.PersistentVolumeClaim
}

// decodeManifests splits a multi-document YAML file and decodes each
// document strictly into the API type its kind names: an unknown field, a
// misspelt one or a wrong type fails.
func decodeManifests(name string, data []byte) ([]manifest, error) {
	var out []manifest
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", name, i+1, err)
		}
		m := manifest{file: name}
		var obj any
		switch head.APIVersion + " " + head.Kind {
		case "batch/v1 Job":
			m.job = &batchv1.Job{}
			obj = m.job
		case "v1 PersistentVolumeClaim":
			m.pvc = &corev1.PersistentVolumeClaim{}
			obj = m.pvc
		default:
			return nil, fmt.Errorf("%s: document %d: %s %s: the test decodes batch/v1 Job and v1 PersistentVolumeClaim; add the type", name, i+1, head.APIVersion, head.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): %v", name, i+1, head.Kind, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func stripComments(s string) string {
	return regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(s, "")
}

func readManifests(t *testing.T) (sweep, merge *batchv1.Job, pvcs []*corev1.PersistentVolumeClaim) {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in kubernetes/")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := decodeManifests(f, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			switch {
			case m.pvc != nil:
				pvcs = append(pvcs, m.pvc)
			case m.job.Spec.CompletionMode != nil && *m.job.Spec.CompletionMode == batchv1.IndexedCompletion:
				if sweep != nil {
					t.Fatalf("%s: a second Indexed Job %s; the test expects one sweep", f, m.job.Name)
				}
				sweep = m.job
			default:
				if merge != nil {
					t.Fatalf("%s: a second plain Job %s; the test expects one merge Job", f, m.job.Name)
				}
				merge = m.job
			}
		}
	}
	if sweep == nil || merge == nil || len(pvcs) == 0 {
		t.Fatalf("want an Indexed sweep Job, a merge Job and a PersistentVolumeClaim in kubernetes/; got sweep %v, merge %v, %d claims", sweep != nil, merge != nil, len(pvcs))
	}
	return sweep, merge, pvcs
}

// TestStrictDecodingCatchesUnknownFields proves the decoding below is
// strict: a misspelt field in a real manifest fails.
func TestStrictDecodingCatchesUnknownFields(t *testing.T) {
	data, err := os.ReadFile("kubernetes/sweep-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(data, []byte("  completions: "), []byte("  completion: "), 1)
	if bytes.Equal(bad, data) {
		t.Fatal("sweep-job.yaml has no completions line to misspell")
	}
	if _, err := decodeManifests("sweep-job.yaml", bad); err == nil || !strings.Contains(err.Error(), "completion") {
		t.Fatalf("a misspelt field decoded without an error naming it: %v", err)
	}
}

// containerEnv is what the kubelet expands $(VAR) from: the variables the
// container's env declares, with a value for each (a test stand-in for a
// downward-API field).
func containerEnv(t *testing.T, c corev1.Container, index int) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']":
			env[e.Name] = strconv.Itoa(index)
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = "field-" + strings.ToLower(e.Name)
		default:
			t.Fatalf("container %s: env %s comes from a source the test does not model; add it", c.Name, e.Name)
		}
	}
	return env
}

// kubeExpand expands $(VAR) as the kubelet does in command and args; a
// reference to a variable the container does not declare would reach the
// program as written, so it fails here.
func kubeExpand(t *testing.T, s string, env map[string]string) string {
	return regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(s, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := env[name]
		if !ok {
			t.Errorf("%s: the container's env does not declare %s, so the kubelet leaves it unexpanded", s, name)
		}
		return v
	})
}

// pipeArgs is the pipe command line of a container, expanded for index;
// nil when the container does not run pipe.
func pipeArgs(t *testing.T, c corev1.Container, index int) []string {
	cmd := append(append([]string(nil), c.Command...), c.Args...)
	if len(cmd) == 0 || filepath.Base(cmd[0]) != "pipe" {
		return nil
	}
	env := containerEnv(t, c, index)
	for i := range cmd {
		cmd[i] = kubeExpand(t, cmd[i], env)
	}
	return cmd
}

func TestKubernetes(t *testing.T) {
	sweep, merge, pvcs := readManifests(t)
	spec := sweep.Spec
	if spec.Completions == nil || spec.Parallelism == nil {
		t.Fatalf("sweep Job %s: completions and parallelism must be set", sweep.Name)
	}
	n := int(*spec.Completions)
	if int(*spec.Parallelism) != n {
		t.Errorf("sweep Job %s: parallelism %d ≠ completions %d", sweep.Name, *spec.Parallelism, n)
	}
	if spec.BackoffLimitPerIndex == nil {
		t.Errorf("sweep Job %s: no backoffLimitPerIndex: a preempted shard should be retried on its own", sweep.Name)
	}
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("sweep Job %s: restartPolicy %q; backoffLimitPerIndex needs Never", sweep.Name, spec.Template.Spec.RestartPolicy)
	}
	claims := map[string]bool{}
	for _, p := range pvcs {
		claims[p.Name] = true
	}
	var resumeDirs []string
	for _, c := range spec.Template.Spec.Containers {
		env := containerEnv(t, c, 0)
		if got := env["PIPE_SHARD_COUNT"]; got != strconv.Itoa(n) {
			t.Errorf("sweep container %s: PIPE_SHARD_COUNT %q ≠ completions %d", c.Name, got, n)
		}
		for index := range n {
			args := pipeArgs(t, c, index)
			if args == nil {
				t.Fatalf("sweep container %s does not run pipe: %q", c.Name, c.Command)
			}
			checkCommand(t, sweep.Name, args)
			checkShardedRun(t, sweep.Name, args)
			resumeDirs = append(resumeDirs, flagValue(args, "--resume"))
		}
		checkMounts(t, sweep.Name, spec.Template.Spec, c, resumeDirs[0], claims)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(resumeDirs)))) != n {
		t.Errorf("sweep Job %s: the %d indexes do not resume %d distinct directories: %q", sweep.Name, n, n, resumeDirs)
	}
	for _, c := range merge.Spec.Template.Spec.Containers {
		args := pipeArgs(t, c, 0)
		if args == nil {
			t.Fatalf("merge container %s does not run pipe: %q", c.Name, c.Command)
		}
		checkCommand(t, merge.Name, args)
		checkMerge(t, merge.Name, args, resumeDirs)
		checkMounts(t, merge.Name, merge.Spec.Template.Spec, c, resumeDirs[0], claims)
	}
}

// TestKubernetesRunScript checks that run.sh applies the manifests that
// exist and waits on, and logs, the Jobs they define.
func TestKubernetesRunScript(t *testing.T) {
	sweep, merge, _ := readManifests(t)
	script := readFile(t, "kubernetes/run.sh")
	applied := regexp.MustCompile(`kubectl apply -f (\S+)`).FindAllStringSubmatch(script, -1)
	if len(applied) == 0 {
		t.Fatal("run.sh applies nothing")
	}
	for _, m := range applied {
		if _, err := os.Stat(filepath.Join("kubernetes", m[1])); err != nil {
			t.Errorf("run.sh applies %s, which is not in kubernetes/", m[1])
		}
	}
	for _, want := range []string{"get job " + sweep.Name, "job/" + merge.Name, "delete job " + merge.Name} {
		if !strings.Contains(script, want) {
			t.Errorf("run.sh lacks %q: it must wait on the sweep Job and run the merge Job the manifests define", want)
		}
	}
}

// checkMounts checks that dir lies on a volume of the pod that is one of
// the claims.
func checkMounts(t *testing.T, job string, pod corev1.PodSpec, c corev1.Container, dir string, claims map[string]bool) {
	for _, m := range c.VolumeMounts {
		if !strings.HasPrefix(dir, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.PersistentVolumeClaim != nil && claims[v.PersistentVolumeClaim.ClaimName] {
				return
			}
		}
	}
	t.Errorf("%s: container %s: %s is not on a mounted PersistentVolumeClaim of this directory's manifests", job, c.Name, dir)
}

// checkCommand parses a pipe command line against pipe's real flags, and
// checks that the pipeline file it runs is in the checkout.
func checkCommand(t *testing.T, where string, args []string) {
	t.Helper()
	args = append([]string{"pipe"}, args[1:]...)
	if err := cli.CheckArgs(args); err != nil {
		t.Errorf("%s: %q: %v", where, strings.Join(args, " "), err)
	}
	if len(args) > 2 && (args[1] == "run" || args[1] == "validate") {
		if _, err := os.Stat(filepath.Join(repoRoot, args[2])); err != nil {
			t.Errorf("%s: %q runs %s, which is not in the checkout", where, strings.Join(args, " "), args[2])
		}
	}
}

// checkShardedRun checks that a shard's command is a sharded, resumable run.
func checkShardedRun(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) < 2 || args[1] != "run" {
		t.Errorf("%s: %q is not a pipe run", where, args)
		return
	}
	if flagValue(args, "--shard") == "" || flagValue(args, "--resume") == "" {
		t.Errorf("%s: %q: a shard runs with --shard and --resume DIR, so a restart continues where it stopped", where, strings.Join(args, " "))
	}
}

// checkMerge checks that a merge command merges exactly dirs.
func checkMerge(t *testing.T, where string, args, dirs []string) {
	t.Helper()
	if len(args) < 2 || args[1] != "merge" {
		t.Errorf("%s: %q is not a pipe merge", where, args)
		return
	}
	var merged []string
	for i := 2; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			i++ // --out DIR
			continue
		}
		merged = append(merged, args[i])
	}
	if !slices.Equal(slices.Sorted(slices.Values(merged)), slices.Sorted(slices.Values(dirs))) {
		t.Errorf("%s: merges %q, but the shards write %q", where, merged, dirs)
	}
	if flagValue(args, "--out") == "" {
		t.Errorf("%s: %q has no --out", where, strings.Join(args, " "))
	}
}

// flagValue is the value of a flag given as "--name value" or
// "--name=value"; "" when absent.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// TestCheckArgsRefusesUnknownFlags proves the command check can fail.
func TestCheckArgsRefusesUnknownFlags(t *testing.T) {
	for _, args := range [][]string{
		{"pipe", "run", "pipelines/phase2-latency.toml", "--shards", "1/2"},
		{"pipe", "run", "pipelines/phase2-latency.toml", "--no-such-flag"},
		{"pipe", "merge", "a", "b", "--output", "c"},
		{"pipe", "mrege", "a"},
		{"pipe", "compare", "a", "b", "--alpha", "x"},
	} {
		if err := cli.CheckArgs(args); err == nil {
			t.Errorf("%q parsed without an error", args)
		}
	}
	if err := cli.CheckArgs([]string{"pipe", "report", "x", "--format", "csv"}); err != nil {
		t.Errorf("a valid command line failed: %v", err)
	}
}

// shellCommands are the pipe command lines of a shell script: each line
// (with backslash continuations joined) whose program — after srun or exec —
// is pipe, split into words with $VAR and ${VAR} expanded from env; a
// variable env lacks fails.
func shellCommands(t *testing.T, name, script string, env map[string]string) [][]string {
	t.Helper()
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out [][]string
	for i, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words, err := shellWords(line, env)
		if err != nil {
			t.Errorf("%s:%d: %v", name, i+1, err)
			continue
		}
		for len(words) > 0 && (words[0] == "srun" || words[0] == "exec") {
			words = words[1:]
		}
		if len(words) > 0 && filepath.Base(words[0]) == "pipe" {
			out = append(out, words)
		}
	}
	return out
}

// shellWords splits a line as sh does for these scripts: single and double
// quotes, and $VAR / ${VAR} expansion outside single quotes.
func shellWords(line string, env map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote == '\'':
			if ch == '\'' {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			if quote == ch {
				quote = 0
			} else if quote == 0 {
				quote = ch
			} else {
				cur.WriteByte(ch)
			}
			inWord = true
		case ch == '$':
			name, n := varName(line[i+1:])
			if name == "" {
				cur.WriteByte(ch)
				inWord = true
				continue
			}
			v, ok := env[name]
			if !ok {
				return nil, fmt.Errorf("$%s: a variable the test does not give a value; add it", name)
			}
			cur.WriteString(v)
			inWord = true
			i += n
		case quote == 0 && (ch == ' ' || ch == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case quote == 0 && (ch == ';' || ch == '|' || ch == '&'):
			return append(words, cur.String()), nil // the command ends here
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// varName reads a variable reference after '$': NAME or {NAME}; n is how
// many bytes it took.
func varName(s string) (name string, n int) {
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0
		}
		return s[1:end], end + 1
	}
	m := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`).FindString(s)
	return m, len(m)
}

// sbatchOption is the value of an #SBATCH --name=value (or --name value) line.
func sbatchOption(script, name string) string {
	for _, line := range strings.Split(script, "\n") {
		rest, ok := strings.CutPrefix(line, "#SBATCH ")
		if !ok {
			continue
		}
		for _, sep := range []string{"=", " "} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(rest), "--"+name+sep); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

// arrayTasks expands an --array spec ("0-3", "0-7%2", "1,3,5") to its task IDs.
func arrayTasks(spec string) ([]int, error) {
	spec, _, _ = strings.Cut(spec, "%")
	var ids []int
	for part := range strings.SplitSeq(spec, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("--array=%s: %v", spec, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("--array=%s: %v", spec, err)
			}
		}
		for i := a; i <= b; i++ {
			ids = append(ids, i)
		}
	}
	return ids, nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSlurm(t *testing.T) {
	sweep := readFile(t, "slurm/sweep.sbatch")
	tasks, err := arrayTasks(sbatchOption(sweep, "array"))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("sweep.sbatch: no usable #SBATCH --array: %v", err)
	}
	var dirs []string
	for _, id := range tasks {
		env := map[string]string{
			"SLURM_SUBMIT_DIR": "/checkout", "SLURM_ARRAY_TASK_ID": strconv.Itoa(id),
			"SLURMD_NODENAME": "node-a", "SLURM_JOB_PARTITION": "cpu",
		}
		cmds := shellCommands(t, "slurm/sweep.sbatch", sweep, env)
		if len(cmds) != 1 {
			t.Fatalf("sweep.sbatch: want one pipe command, got %q", cmds)
		}
		checkCommand(t, "slurm/sweep.sbatch", cmds[0])
		checkShardedRun(t, "slurm/sweep.sbatch", cmds[0])
		dirs = append(dirs, flagValue(cmds[0], "--resume"))
	}
	if got := len(slices.Compact(slices.Sorted(slices.Values(dirs)))); got != len(tasks) {
		t.Errorf("sweep.sbatch: %d tasks resume %d distinct directories: %q", len(tasks), got, dirs)
	}
	if sbatchOption(sweep, "requeue") == "" && !strings.Contains(sweep, "#SBATCH --requeue") {
		t.Error("sweep.sbatch: no --requeue: a preempted task would not restart and resume")
	}
	merge := readFile(t, "slurm/merge.sbatch")
	cmds := shellCommands(t, "slurm/merge.sbatch", merge, map[string]string{"SLURM_SUBMIT_DIR": "/checkout"})
	if len(cmds) != 1 {
		t.Fatalf("merge.sbatch: want one pipe command, got %q", cmds)
	}
	checkCommand(t, "slurm/merge.sbatch", cmds[0])
	checkMerge(t, "slurm/merge.sbatch", cmds[0], dirs)
	submit := readFile(t, "slurm/submit.sh")
	dep := regexp.MustCompile(`sbatch --parsable \S*sweep\.sbatch[\s\S]*sbatch --dependency=after(ok|any):"?\$\{?sweep\}?"? \S*merge\.sbatch`)
	if !dep.MatchString(submit) {
		t.Error("submit.sh: want the sweep submitted with --parsable and the merge with --dependency=afterany (or afterok) on it")
	}
}

func TestGitHubActions(t *testing.T) {
	var wf struct {
		Jobs map[string]struct {
			Needs    any    `json:"needs"`
			If       string `json:"if"`
			Strategy struct {
				Matrix map[string]any `json:"matrix"`
			} `json:"strategy"`
			Steps []struct {
				Uses string         `json:"uses"`
				Run  string         `json:"run"`
				Env  map[string]any `json:"env"`
				If   string         `json:"if"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	const file = "github-actions/pipe-sweep.yml"
	if err := yaml.Unmarshal([]byte(readFile(t, file)), &wf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var shardJob, mergeJob string
	for name, j := range wf.Jobs {
		if _, ok := j.Strategy.Matrix["shard"]; ok {
			shardJob = name
		} else {
			mergeJob = name
		}
	}
	if shardJob == "" || mergeJob == "" {
		t.Fatalf("%s: want a job with a shard matrix and a merge job; got %v", file, wf.Jobs)
	}
	shards, _ := wf.Jobs[shardJob].Strategy.Matrix["shard"].([]any)
	if len(shards) == 0 {
		t.Fatalf("%s: matrix.shard is not a list", file)
	}
	expr := regexp.MustCompile(`\$\{\{\s*([a-z.]+)\s*\}\}`)
	expand := func(s string, shard any) string {
		return expr.ReplaceAllStringFunc(s, func(m string) string {
			switch name := expr.FindStringSubmatch(m)[1]; name {
			case "matrix.shard":
				return fmt.Sprint(shard)
			case "runner.os", "runner.arch":
				return "Linux"
			default:
				t.Errorf("%s: ${{ %s }}: an expression the test does not give a value; add it", file, name)
				return m
			}
		})
	}
	var dirs []string
	uploads := 0
	for _, shard := range shards {
		for _, step := range wf.Jobs[shardJob].Steps {
			if strings.HasPrefix(step.Uses, "actions/upload-artifact") {
				uploads++
				if step.If != "always()" {
					t.Errorf("%s: the shard's upload step runs only on success; a shard cut off should still upload its journal (if: always())", file)
				}
			}
			cmds := shellCommands(t, file, expand(step.Run, shard), nil)
			for _, cmd := range cmds {
				checkCommand(t, file, cmd)
				checkShardedRun(t, file, cmd)
				dirs = append(dirs, flagValue(cmd, "--resume"))
				if got, want := flagValue(cmd, "--shard"), fmt.Sprintf("%v/%d", shard, len(shards)); got != want {
					t.Errorf("%s: --shard %s for matrix value %v; want %s (the matrix's value of its length)", file, got, shard, want)
				}
			}
		}
	}
	if len(dirs) != len(shards) || uploads != len(shards) {
		t.Fatalf("%s: want one pipe run and one upload per shard; got %d runs, %d uploads for %d shards", file, len(dirs), uploads, len(shards))
	}
	mj := wf.Jobs[mergeJob]
	if fmt.Sprint(mj.Needs) != shardJob && !slices.Contains(toStrings(mj.Needs), shardJob) {
		t.Errorf("%s: job %s does not need %s", file, mergeJob, shardJob)
	}
	if mj.If != "always()" {
		t.Errorf("%s: job %s runs only when every shard succeeded; a missing shard should still merge (if: always())", file, mergeJob)
	}
	merges := 0
	for _, step := range mj.Steps {
		for _, cmd := range shellCommands(t, file, expand(step.Run, nil), nil) {
			checkCommand(t, file, cmd)
			if len(cmd) > 1 && cmd[1] == "merge" {
				merges++
				checkMerge(t, file, cmd, dirs)
			}
		}
	}
	if merges != 1 {
		t.Errorf("%s: job %s has %d pipe merge commands, want 1", file, mergeJob, merges)
	}
}

func toStrings(v any) []string {
	xs, _ := v.([]any)
	var out []string
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
