package result

import (
	"maps"
	"slices"
	"strings"
)

// LabelString writes labels as sorted key=value pairs ("" for none).
func LabelString(labels map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		kv = append(kv, k+"="+labels[k])
	}
	return strings.Join(kv, ", ")
}

// Machine is one machine of a result: the environments that ran on it.
type Machine struct {
	// Name is the hostname, with the CPU model when two hosts share a name.
	Name string
	Env  Env
	// Labels are the labels its environments share.
	Labels       map[string]string
	Environments []string // IDs
}

// Machines groups a merged result's environments by machine (hostname
// and CPU model), in the order they first appear; nil for the result of
// one run.
func Machines(r *Result) []Machine {
	var out []Machine
	index := map[string]int{}
	for _, e := range r.Environments {
		id := e.Env.Hostname + "\x00" + e.Env.CPUModel
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out = append(out, Machine{Name: e.Env.Hostname, Env: e.Env, Labels: maps.Clone(e.Labels)})
		}
		mc := &out[i]
		mc.Environments = append(mc.Environments, e.ID)
		for k, v := range mc.Labels {
			if e.Labels[k] != v {
				delete(mc.Labels, k)
			}
		}
	}
	return out
}

// MachineOfEnvironment maps each environment ID of a merged result to the
// name of its machine (as Machines names it); nil for the result of one run.
func MachineOfEnvironment(r *Result) map[string]string {
	machines := Machines(r)
	if machines == nil {
		return nil
	}
	out := map[string]string{}
	for _, m := range machines {
		for _, id := range m.Environments {
			out[id] = m.Name
		}
	}
	return out
}
