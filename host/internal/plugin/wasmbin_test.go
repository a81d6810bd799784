package plugin_test

// fakeModule writes a minimal WebAssembly binary by hand, for module checks
// that need no Go toolchain: every function is empty (or returns i32 0).
type fakeModule struct {
	imports []string          // "module.name", each of type ()->()
	exports map[string]string // export name → "v" for ()->(), "i" for ()->(i32)
	memory  bool              // define and export "memory"
}

func (m fakeModule) bytes() []byte {
	leb := func(n int) []byte {
		var b []byte
		for {
			c := byte(n & 0x7f)
			n >>= 7
			if n != 0 {
				b = append(b, c|0x80)
				continue
			}
			return append(b, c)
		}
	}
	name := func(s string) []byte { return append(leb(len(s)), s...) }
	section := func(id byte, items int, body []byte) []byte {
		content := append(leb(items), body...)
		return append(append([]byte{id}, leb(len(content))...), content...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	// Types: 0 = ()->(), 1 = ()->(i32).
	out = append(out, section(1, 2, []byte{0x60, 0, 0, 0x60, 0, 1, 0x7f})...)
	var imp []byte
	for _, full := range m.imports {
		mod, fn := full, ""
		for i := range full {
			if full[i] == '.' {
				mod, fn = full[:i], full[i+1:]
				break
			}
		}
		imp = append(imp, name(mod)...)
		imp = append(imp, name(fn)...)
		imp = append(imp, 0x00, 0x00)
	}
	if len(m.imports) > 0 {
		out = append(out, section(2, len(m.imports), imp)...)
	}
	var names []string
	for n := range m.exports {
		names = append(names, n)
	}
	var funcs, code, exp []byte
	for i, n := range names {
		body := []byte{0x00, 0x0b} // no locals; end
		typ := byte(0)
		if m.exports[n] == "i" {
			typ, body = 1, []byte{0x00, 0x41, 0x00, 0x0b} // i32.const 0
		}
		funcs = append(funcs, typ)
		code = append(code, append(leb(len(body)), body...)...)
		exp = append(exp, name(n)...)
		exp = append(exp, 0x00)
		exp = append(exp, leb(len(m.imports)+i)...)
	}
	if len(names) > 0 {
		out = append(out, section(3, len(names), funcs)...)
	}
	if m.memory {
		out = append(out, section(5, 1, []byte{0x00, 0x01})...)
		exp = append(exp, name("memory")...)
		exp = append(exp, 0x02, 0x00)
	}
	nexp := len(names)
	if m.memory {
		nexp++
	}
	if nexp > 0 {
		out = append(out, section(7, nexp, exp)...)
	}
	if len(names) > 0 {
		out = append(out, section(10, len(names), code)...)
	}
	return out
}

// reactorWithoutInit is a complete target plugin with no _initialize, no
// WASI imports and no Go runtime, as a Rust cdylib may be: pipe_describe
// and pipe_target each write a constant document from a data segment
// through pipe.output_write and return 0.
func reactorWithoutInit(manifest, verdicts string) []byte {
	leb := func(n int) []byte {
		var b []byte
		for {
			c := byte(n & 0x7f)
			n >>= 7
			if n != 0 {
				b = append(b, c|0x80)
				continue
			}
			return append(b, c)
		}
	}
	name := func(s string) []byte { return append(leb(len(s)), s...) }
	section := func(id byte, items int, body []byte) []byte {
		content := append(leb(items), body...)
		return append(append([]byte{id}, leb(len(content))...), content...)
	}
	const manifestAt, verdictsAt = 1024, 4096
	// sleb is the signed LEB128 that i32.const takes, for n ≥ 0.
	sleb := func(n int) []byte {
		b := leb(n)
		if b[len(b)-1]&0x40 != 0 {
			b[len(b)-1] |= 0x80
			b = append(b, 0x00)
		}
		return b
	}
	// writes(at, n): i32.const at; i32.const n; call 0 (output_write); drop; i32.const 0; end
	writes := func(at, n int) []byte {
		body := []byte{0x00, 0x41}
		body = append(body, sleb(at)...)
		body = append(body, 0x41)
		body = append(body, sleb(n)...)
		body = append(body, 0x10, 0x00, 0x1a, 0x41, 0x00, 0x0b)
		return append(leb(len(body)), body...)
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	// Types: 0 = (i32,i32)->(i32), 1 = ()->(i32), 2 = ()->().
	out = append(out, section(1, 3, []byte{0x60, 2, 0x7f, 0x7f, 1, 0x7f, 0x60, 0, 1, 0x7f, 0x60, 0, 0})...)
	out = append(out, section(2, 1, append(append(name("pipe"), name("output_write")...), 0x00, 0x00))...)
	out = append(out, section(3, 3, []byte{2, 1, 1})...) // marker, describe, target
	out = append(out, section(5, 1, []byte{0x00, 0x01})...)
	var exp []byte
	for i, n := range []string{"pipe_abi_v1", "pipe_describe", "pipe_target"} {
		exp = append(exp, name(n)...)
		exp = append(exp, 0x00, byte(1+i)) // function index: after the one import
	}
	exp = append(exp, name("memory")...)
	exp = append(exp, 0x02, 0x00)
	out = append(out, section(7, 4, exp)...)
	var code []byte
	code = append(code, 0x02, 0x00, 0x0b) // marker: size 2, no locals, end
	code = append(code, writes(manifestAt, len(manifest))...)
	code = append(code, writes(verdictsAt, len(verdicts))...)
	out = append(out, section(10, 3, code)...)
	var data []byte
	for _, seg := range []struct {
		at  int
		doc string
	}{{manifestAt, manifest}, {verdictsAt, verdicts}} {
		data = append(data, 0x00, 0x41)
		data = append(data, sleb(seg.at)...)
		data = append(data, 0x0b)
		data = append(data, name(seg.doc)...)
	}
	return append(out, section(11, 2, data)...)
}
