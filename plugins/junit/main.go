// Command junit is a first-party pipe report plugin: the result's target
// verdicts and validity as JUnit XML, the format CI systems (GitLab,
// Jenkins, GitHub test reporters) read. One test suite per case (and one
// for targets over every case); one test case per verdict, failed when the
// target failed; one "valid" test case per case, failed when a run broke an
// invariant.
//
//	[report]
//	formats = ["md", "junit"]
package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/pipe-bench/pipe/sdk"
)

func init() {
	sdk.Register(sdk.Plugin{
		Name:        "junit",
		Version:     "1.0.0",
		Description: "report: target verdicts and validity as JUnit XML for CI",
		Report:      &sdk.ReportFormat{Format: "junit", FileName: "junit.xml", MediaType: "application/xml"},
		Render:      render,
	})
}

type testSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Suites   []testSuite `xml:"testsuite"`
}

type testSuite struct {
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Cases    []testCase `xml:"testcase"`
}

type testCase struct {
	ClassName string   `xml:"classname,attr"`
	Name      string   `xml:"name,attr"`
	Failure   *failure `xml:"failure,omitempty"`
}

type failure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func render(r *sdk.Result, w io.Writer) error {
	class := "pipe." + r.Pipeline.Name
	suites := map[string]*testSuite{}
	var order []string
	suite := func(name string) *testSuite {
		if s, ok := suites[name]; ok {
			return s
		}
		suites[name] = &testSuite{Name: name}
		order = append(order, name)
		return suites[name]
	}
	add := func(s *testSuite, tc testCase) {
		s.Tests++
		if tc.Failure != nil {
			s.Failures++
		}
		s.Cases = append(s.Cases, tc)
	}
	for _, c := range r.Cases {
		tc := testCase{ClassName: class, Name: "valid"}
		if !c.Valid {
			tc.Failure = &failure{Type: "invalid", Message: "a run broke an invariant",
				Text: strings.Join(c.Problems, "\n")}
		}
		add(suite(c.ID), tc)
	}
	for _, v := range r.Targets {
		name := v.Case
		if name == "" {
			name = "all cases"
		}
		tc := testCase{ClassName: class, Name: v.Target}
		if !v.Pass {
			msg := v.Message
			if msg == "" {
				msg = fmt.Sprintf("%s %s = %g %s, want %s %g", v.Metric, v.Statistic, v.Observed, v.Unit, v.Op, v.Threshold)
			}
			tc.Failure = &failure{Type: "target", Message: msg,
				Text: fmt.Sprintf("observed %g %s; threshold %s %g (source %s)", v.Observed, v.Unit, v.Op, v.Threshold, v.Source)}
		}
		add(suite(name), tc)
	}
	if !r.Valid && len(r.Problems) > 0 {
		add(suite("result"), testCase{ClassName: class, Name: "valid",
			Failure: &failure{Type: "invalid", Message: "the result is invalid", Text: strings.Join(r.Problems, "\n")}})
	}
	doc := testSuites{Name: "pipe: " + r.Pipeline.Name}
	for _, name := range order {
		s := suites[name]
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Suites = append(doc.Suites, *s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func main() {}
