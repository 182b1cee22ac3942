package main

import (
	"reflect"
	"strings"
	"testing"

	apiclient "github.com/pedigree-ml/pedigree/client"
)

func TestLockFileParsers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parse func(r *strings.Reader, m map[string]string) error
		in    string
		want  map[string]string
	}{
		{"requirements.txt", func(r *strings.Reader, m map[string]string) error { return parseRequirements(r, m) },
			"# c\nNumPy==1.26.4\nrequests[socks]==2.31.0 ; python_version > '3.8'\n-e .\ngit+https://x/y.git\ntorch\nflask>=2,<3\n",
			map[string]string{"numpy": "1.26.4", "requests": "2.31.0", "torch": "", "flask": ">=2,<3"}},
		{"uv.lock", func(r *strings.Reader, m map[string]string) error { return parseTOMLLock(r, m) },
			"version = 1\nrequires-python = \">=3.11\"\n\n[[package]]\nname = \"anyio\"\nversion = \"4.4.0\"\nsource = { registry = \"https://pypi.org/simple\" }\ndependencies = [\n    { name = \"idna\" },\n]\nsdist = { url = \"x\" }\n\n[package.optional-dependencies]\ntrio = [\n    { name = \"trio\" },\n]\n\n[[package]]\nname = \"Idna\"\nversion = \"3.7\"\n",
			map[string]string{"anyio": "4.4.0", "idna": "3.7"}},
		{"poetry.lock", func(r *strings.Reader, m map[string]string) error { return parseTOMLLock(r, m) },
			"[[package]]\nname = \"click\"\nversion = \"8.1.7\"\ndescription = \"x\"\n\n[package.dependencies]\ncolorama = {version = \"*\", markers = \"platform_system == 'Windows'\"}\n\n[metadata]\nlock-version = \"2.0\"\n",
			map[string]string{"click": "8.1.7"}},
		{"go.sum", func(r *strings.Reader, m map[string]string) error { return parseGoSum(r, m) },
			"github.com/a/b v1.0.0 h1:x=\ngithub.com/a/b v1.0.0/go.mod h1:y=\ngithub.com/c/d v0.1.0/go.mod h1:z=\ngolang.org/x/sys v0.1.0 h1:a=\ngolang.org/x/sys v0.2.0 h1:b=\n",
			map[string]string{"github.com/a/b": "v1.0.0", "golang.org/x/sys": "v0.2.0"}},
	} {
		got := map[string]string{}
		if err := tc.parse(strings.NewReader(tc.in), got); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDetectTrigger(t *testing.T) {
	s := func(v string) *string { return &v }
	ci, manual := apiclient.TriggerKindCi, apiclient.TriggerKindManual
	for _, tc := range []struct {
		env  map[string]string
		want apiclient.TriggerInput
	}{
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_RUN_ID": "9", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "a/b", "USER": "runner"},
			apiclient.TriggerInput{Kind: &ci, Actor: s("octocat"), ExternalId: s("9"), Url: s("https://github.com/a/b/actions/runs/9")}},
		{map[string]string{"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "ada", "CI_PIPELINE_ID": "77", "CI_PIPELINE_URL": "https://gitlab.com/a/b/-/pipelines/77"},
			apiclient.TriggerInput{Kind: &ci, Actor: s("ada"), ExternalId: s("77"), Url: s("https://gitlab.com/a/b/-/pipelines/77")}},
		{map[string]string{"JENKINS_URL": "https://ci/", "USER": "jenkins", "BUILD_NUMBER": "12", "BUILD_URL": "https://ci/job/x/12/"},
			apiclient.TriggerInput{Kind: &ci, Actor: s("jenkins"), ExternalId: s("12"), Url: s("https://ci/job/x/12/")}},
		{map[string]string{"USER": "ada", "CI": "true"},
			apiclient.TriggerInput{Kind: &manual, Actor: s("ada")}},
	} {
		got := detectTrigger(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %s, want %s", tc.env, show(got), show(tc.want))
		}
	}
}

func show(t apiclient.TriggerInput) string {
	d := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	return string(*t.Kind) + " " + d(t.Actor) + " " + d(t.ExternalId) + " " + d(t.Url)
}

func TestParseFlags(t *testing.T) {
	in, err := parseInputs([]string{"datasetversion:customers/3:train", "run:0190abc", "split:d/1/test:eval"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range in {
		role := ""
		if i.Role != nil {
			role = *i.Role
		}
		got = append(got, i.Node+"|"+role)
	}
	if want := []string{"datasetversion:customers/3|train", "run:0190abc|", "split:d/1/test|eval"}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseInputs = %v, want %v", got, want)
	}
	if _, err := parseInputs([]string{"customers"}); err == nil || exitCode(err) != 2 {
		t.Errorf("parseInputs(customers) = %v, want a usage error", err)
	}
	if got := stripCredentials("https://x-access-token:ghp_1@github.com/a/b.git"); got != "https://github.com/a/b.git" {
		t.Errorf("stripCredentials = %q", got)
	}
}
