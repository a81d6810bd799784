package model

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/pipe-bench/pipe/host/internal/onnxpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// graphHeader is what Load needs from an ONNX file: everything but the
// weights' bytes.
type graphHeader struct {
	irVersion int64
	opsets    map[string]int64 // domain → version ("" is ai.onnx)
	inputs    []*onnxpb.ValueInfoProto
	outputs   []*onnxpb.ValueInfoProto
	params    int64 // elements of floating-point, non-scalar initializers
	// externalFiles lists the files (relative to the model) that hold
	// initializers stored outside it, in first-seen order.
	externalFiles []string
	// positionTable names the learned position-embedding initializer
	// (isPositionTable), and positionRows is its first dim: the most
	// positions the graph can index. Both are zero when the graph has
	// none (rotary models) or names it otherwise.
	positionTable string
	positionRows  int64
	// initializers are the graph's weights (name, element type, bytes),
	// in file order; nodes are its top-level nodes (op type, inputs and
	// the bits attribute of quantized ops), without their attributes'
	// tensors. Subgraphs (the merged decoder's If branches) are not walked.
	initializers []initializer
	nodes        []node
}

// initializer is one weight of the graph as stored: its bytes are the
// raw_data (or typed data) length, or the external data's length.
type initializer struct {
	name  string
	elem  onnxpb.TensorProto_DataType
	dims  []int64
	bytes int64
}

// node is one top-level node of the graph.
type node struct {
	opType, domain string
	inputs         []string
	bits           int64 // the "bits" attribute (MatMulNBits, GatherBlockQuantized), 0 when absent
}

// positionTableSuffixes name learned position embeddings as Hugging Face
// exports and pipe's builder write them: GPT-2's transformer.wpe.weight,
// OPT's and others' embed_positions.weight, BERT-style
// position_embeddings.weight.
var positionTableSuffixes = []string{"wpe.weight", "embed_positions.weight", "position_embeddings.weight"}

func isPositionTable(name string) bool {
	for _, suf := range positionTableSuffixes {
		if name == suf || strings.HasSuffix(name, "."+suf) {
			return true
		}
	}
	return false
}

// readGraphHeader walks the protobuf wire format of an ONNX ModelProto with
// positioned reads, decoding the graph's inputs, outputs and opset imports
// and only the dims of initializers; weight bytes are skipped by offset,
// never read, so a 500 MB model costs a few hundred small reads.
func readGraphHeader(r io.ReaderAt, size int64) (*graphHeader, error) {
	h := &graphHeader{opsets: map[string]int64{}}
	p := &wireReader{r: r}
	sawGraph := false
	err := p.fields(0, size, func(num protowire.Number, typ protowire.Type, start, end int64, v uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType: // ir_version
			h.irVersion = int64(v)
		case num == 8 && typ == protowire.BytesType: // opset_import
			var o onnxpb.OperatorSetIdProto
			if err := p.unmarshal(start, end, &o); err != nil {
				return err
			}
			h.opsets[o.GetDomain()] = o.GetVersion()
		case num == 7 && typ == protowire.BytesType: // graph
			sawGraph = true
			return p.fields(start, end, h.graphField(p))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !sawGraph || h.irVersion <= 0 {
		return nil, errors.New("no ONNX graph in it")
	}
	return h, nil
}

func (h *graphHeader) graphField(p *wireReader) func(protowire.Number, protowire.Type, int64, int64, uint64) error {
	return func(num protowire.Number, typ protowire.Type, start, end int64, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 11, 12: // input, output
			var vi onnxpb.ValueInfoProto
			if err := p.unmarshal(start, end, &vi); err != nil {
				return err
			}
			if num == 11 {
				h.inputs = append(h.inputs, &vi)
			} else {
				h.outputs = append(h.outputs, &vi)
			}
		case 5: // initializer: name, dims, type and data location only
			var dims []int64
			name, floating := "", false
			var elem onnxpb.TensorProto_DataType
			var stored, extLen int64
			err := p.fields(start, end, func(num protowire.Number, typ protowire.Type, start, end int64, v uint64) error {
				switch {
				case num == 1 && typ == protowire.VarintType:
					dims = append(dims, int64(v))
				case typ == protowire.BytesType && (num == 9 || (num >= 4 && num <= 7) || num == 10 || num == 11): // raw_data, typed data (packed)
					stored += end - start
				case num == 8 && typ == protowire.BytesType && end-start <= 1024: // name
					b, err := p.read(start, end)
					if err != nil {
						return err
					}
					name = string(b)
				case num == 2 && typ == protowire.VarintType:
					elem = onnxpb.TensorProto_DataType(v)
					switch elem {
					case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_DOUBLE:
						floating = true
					}
				case num == 1 && typ == protowire.BytesType: // packed dims
					b, err := p.read(start, end)
					if err != nil {
						return err
					}
					for len(b) > 0 {
						d, n := protowire.ConsumeVarint(b)
						if n < 0 {
							return protowire.ParseError(n)
						}
						dims = append(dims, int64(d))
						b = b[n:]
					}
				case num == 13 && typ == protowire.BytesType: // external_data entry
					var kv onnxpb.StringStringEntryProto
					if err := p.unmarshal(start, end, &kv); err != nil {
						return err
					}
					if kv.GetKey() == "location" && !slices.Contains(h.externalFiles, kv.GetValue()) {
						h.externalFiles = append(h.externalFiles, kv.GetValue())
					}
					if kv.GetKey() == "length" {
						extLen, _ = strconv.ParseInt(kv.GetValue(), 10, 64)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			// Weights, not shape constants or scalars.
			if floating && len(dims) > 0 {
				elems := int64(1)
				for _, d := range dims {
					elems *= d
				}
				h.params += elems
			}
			if floating && len(dims) == 2 && isPositionTable(name) && h.positionTable == "" {
				h.positionTable, h.positionRows = name, dims[0]
			}
			h.initializers = append(h.initializers, initializer{name: name, elem: elem, dims: dims, bytes: stored + extLen})
		case 1: // node
			n, err := readNode(p, start, end)
			if err != nil {
				return err
			}
			h.nodes = append(h.nodes, n)
		}
		return nil
	}
}

// readNode reads a NodeProto's op type, domain, inputs and bits attribute;
// attribute payloads (tensors, subgraphs) are skipped by offset.
func readNode(p *wireReader, start, end int64) (node, error) {
	var n node
	err := p.fields(start, end, func(num protowire.Number, typ protowire.Type, start, end int64, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1, 4, 7: // input, op_type, domain
			if end-start > 4096 {
				return nil
			}
			b, err := p.read(start, end)
			if err != nil {
				return err
			}
			switch num {
			case 1:
				n.inputs = append(n.inputs, string(b))
			case 4:
				n.opType = string(b)
			case 7:
				n.domain = string(b)
			}
		case 5: // attribute: only "bits" is read
			var name string
			var i int64
			err := p.fields(start, end, func(num protowire.Number, typ protowire.Type, start, end int64, v uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType && end-start <= 64:
					b, err := p.read(start, end)
					if err != nil {
						return err
					}
					name = string(b)
				case num == 3 && typ == protowire.VarintType:
					i = int64(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if name == "bits" {
				n.bits = i
			}
		}
		return nil
	})
	return n, err
}

// wireReader reads protobuf fields at offsets of an io.ReaderAt.
type wireReader struct {
	r   io.ReaderAt
	tmp [2 * binaryMaxVarint]byte
}

const binaryMaxVarint = 10

// read returns bytes [start, end).
func (p *wireReader) read(start, end int64) ([]byte, error) {
	b := make([]byte, end-start)
	if _, err := p.r.ReadAt(b, start); err != nil {
		return nil, fmt.Errorf("truncated at byte %d: %w", start, err)
	}
	return b, nil
}

func (p *wireReader) unmarshal(start, end int64, m proto.Message) error {
	b, err := p.read(start, end)
	if err != nil {
		return err
	}
	return proto.Unmarshal(b, m)
}

// fields calls fn for each field in [start, end): for varints with the
// value, for length-delimited fields with the payload's range.
func (p *wireReader) fields(start, end int64, fn func(num protowire.Number, typ protowire.Type, start, end int64, v uint64) error) error {
	off := start
	for off < end {
		n, err := p.r.ReadAt(p.tmp[:min(int64(len(p.tmp)), end-off)], off)
		if n == 0 && err != nil {
			return fmt.Errorf("truncated at byte %d: %w", off, err)
		}
		b := p.tmp[:n]
		num, typ, tn := protowire.ConsumeTag(b)
		if tn < 0 {
			return fmt.Errorf("byte %d: %w", off, protowire.ParseError(tn))
		}
		b = b[tn:]
		off += int64(tn)
		var v uint64
		vStart := off
		switch typ {
		case protowire.VarintType:
			var vn int
			v, vn = protowire.ConsumeVarint(b)
			if vn < 0 {
				return fmt.Errorf("byte %d: %w", off, protowire.ParseError(vn))
			}
			off += int64(vn)
		case protowire.Fixed32Type:
			off += 4
		case protowire.Fixed64Type:
			off += 8
		case protowire.BytesType:
			l, ln := protowire.ConsumeVarint(b)
			if ln < 0 {
				return fmt.Errorf("byte %d: %w", off, protowire.ParseError(ln))
			}
			vStart = off + int64(ln)
			if l > uint64(end-vStart) {
				return fmt.Errorf("byte %d: field %d claims %d bytes, only %d left", off, num, l, end-vStart)
			}
			off = vStart + int64(l)
		default:
			return fmt.Errorf("byte %d: unsupported wire type %d", off, typ)
		}
		if off > end {
			return fmt.Errorf("byte %d: field %d runs past its message", vStart, num)
		}
		if err := fn(num, typ, vStart, off, v); err != nil {
			return err
		}
	}
	return nil
}

// gatherOps read one row of a table per token, not the table.
var gatherOps = map[string]bool{"Gather": true, "GatherBlockQuantized": true}

// weighWeights fills the stored weight bytes, the bytes one decode step
// reads — every initializer but those whose only consumers are gathers
// (embedding tables not tied to the LM head; a quantized table's scales and
// zero points with it) and scalars — and the weights' precision: that of
// the quantized MatMuls when the graph has them (MatMulNBits' bits; QDQ,
// MatMulInteger and kin: int8), even where a float LM head outweighs them,
// else the float type of most bytes read.
func (m *Model) weighWeights(h *graphHeader) {
	consumers := map[string][]string{}
	packed := map[string]int{} // packed quantized weights → bits per weight
	m.Ops = map[string]int{}
	bits := 0
	for _, n := range h.nodes {
		m.Ops[n.opType]++
		for _, in := range n.inputs {
			consumers[in] = append(consumers[in], n.opType)
		}
		switch n.opType {
		case "MatMulNBits", "GatherBlockQuantized":
			b := int(n.bits)
			if b == 0 {
				b = 4 // both ops' default
			}
			// MatMulNBits packs its weight in input 1, GatherBlockQuantized in 0.
			if i := map[string]int{"MatMulNBits": 1, "GatherBlockQuantized": 0}[n.opType]; i < len(n.inputs) {
				packed[n.inputs[i]] = b
			}
			if bits == 0 || b < bits {
				bits = b
			}
		}
	}
	byKind := map[string]int64{}
	for _, in := range h.initializers {
		switch in.elem {
		case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_BOOL, onnxpb.TensorProto_STRING:
			continue // shapes, axes and indices, not weights
		}
		if len(in.dims) == 0 {
			continue
		}
		if b := packed[in.name]; b > 0 {
			m.Params += in.bytes * 8 / int64(b) // the weights it packs
		}
		m.WeightBytes += in.bytes
		onlyGathered := len(consumers[in.name]) > 0
		for _, op := range consumers[in.name] {
			onlyGathered = onlyGathered && gatherOps[op]
		}
		if onlyGathered {
			continue
		}
		m.WeightBytesPerToken += in.bytes
		switch in.elem {
		case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE:
			byKind["fp32"] += in.bytes
		case onnxpb.TensorProto_FLOAT16:
			byKind["fp16"] += in.bytes
		case onnxpb.TensorProto_BFLOAT16:
			byKind["bf16"] += in.bytes
		case onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8:
			byKind["int8"] += in.bytes
		case onnxpb.TensorProto_DataType(22), onnxpb.TensorProto_DataType(21): // INT4, UINT4
			byKind["int4"] += in.bytes
		}
	}
	switch {
	case bits > 0:
		m.Precision = fmt.Sprintf("int%d", bits)
	case m.Ops["MatMulInteger"] > 0 || m.Ops["QLinearMatMul"] > 0 || m.Ops["DynamicQuantizeMatMul"] > 0 || m.Ops["MatMulIntegerToFloat"] > 0 ||
		(m.Ops["DequantizeLinear"] > 0 && byKind["int8"] > 0):
		m.Precision = "int8"
	default:
		m.Precision = largestKind(byKind)
	}
}

// largestKind is the kind holding the most bytes ("" when there are none):
// what a decode step mostly reads.
func largestKind(byKind map[string]int64) string {
	best, top := "", int64(0)
	for k, b := range byKind {
		if b > top || (b == top && k < best) {
			best, top = k, b
		}
	}
	return best
}
