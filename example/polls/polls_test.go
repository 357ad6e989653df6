package polls_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantgen/tenantgen/example/polls"
	"github.com/tenantgen/tenantgen/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, "polls") }

type client struct {
	t    *testing.T
	base string
}

// do sends a request with the given Host and decodes the JSON answer.
func (c client) do(method, host, path, body string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// startServer builds and runs the real polls binary (as make demo does)
// against the test database, and returns its base URL.
func startServer(t *testing.T) string {
	t.Helper()
	url := pgtest.URL(t)
	bin := filepath.Join(t.TempDir(), "polls")
	build := exec.Command("go", "build", "-o", bin, "./cmd/polls")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	run := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "ADDR="+addr, "DATABASE_URL="+url)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stderr)
			once := false
			for sc.Scan() {
				t.Log(sc.Text())
				if !once && strings.Contains(sc.Text(), "polls: serving") {
					once = true
					close(ready)
				}
			}
		}()
		select {
		case <-ready:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatal("polls did not start")
		}
		return cmd
	}
	// Twice: bootstrapping is idempotent, as `make demo` run twice needs.
	first := run()
	first.Process.Signal(os.Interrupt)
	first.Wait()
	second := run()
	t.Cleanup(func() {
		second.Process.Signal(os.Interrupt)
		second.Wait()
	})
	return "http://" + addr
}

func TestPollsEndToEnd(t *testing.T) {
	c := client{t: t, base: startServer(t)}
	const thor, potter = "thor.polls.local", "POTTER.polls.local.:8080"

	var created polls.Poll
	if code := c.do("POST", thor, "/polls", `{"question": "Best hammer?", "choices": ["Mjolnir", "Stormbreaker"]}`, &created); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if created.ID == 0 || len(created.Choices) != 2 || created.Choices[0].ID == 0 {
		t.Fatalf("created %+v", created)
	}
	var potterPoll polls.Poll
	if code := c.do("POST", potter, "/polls", `{"question": "Best house?", "choices": ["Gryffindor", "Hufflepuff", "Ravenclaw"]}`, &potterPoll); code != 201 {
		t.Fatalf("create potter: %d", code)
	}

	var list []polls.Poll
	c.do("GET", thor, "/polls", "", &list)
	if len(list) != 1 || list[0].Question != "Best hammer?" {
		t.Fatalf("thor sees %+v", list)
	}
	c.do("GET", potter, "/polls", "", &list)
	if len(list) != 1 || list[0].Question != "Best house?" {
		t.Fatalf("potter sees %+v", list)
	}

	var voted polls.Poll
	path := fmt.Sprintf("/polls/%d/vote", created.ID)
	for i := 0; i < 2; i++ {
		if code := c.do("POST", thor, path, fmt.Sprintf(`{"choice_id": %d}`, created.Choices[1].ID), &voted); code != 200 {
			t.Fatalf("vote: %d", code)
		}
	}
	if voted.Choices[1].Votes != 2 || voted.Choices[0].Votes != 0 {
		t.Fatalf("votes %+v", voted.Choices)
	}
	var got polls.Poll
	if code := c.do("GET", thor, fmt.Sprintf("/polls/%d", created.ID), "", &got); code != 200 || got.Choices[1].Votes != 2 {
		t.Fatalf("get: %d %+v", code, got)
	}

	// Isolation and errors.
	checks := []struct {
		name, method, host, path, body string
		want                           int
	}{
		{"unknown host", "GET", "loki.polls.local", "/polls", "", 404},
		{"malformed JSON", "POST", thor, "/polls", `{"question": `, 400},
		{"too few choices", "POST", thor, "/polls", `{"question": "q", "choices": ["a"]}`, 400},
		{"another tenant's poll", "GET", thor, fmt.Sprintf("/polls/%d", potterPoll.ID+100), "", 404},
		{"vote for another poll's choice", "POST", thor, path, fmt.Sprintf(`{"choice_id": %d}`, potterPoll.Choices[2].ID), 404},
		{"bad id", "GET", thor, "/polls/abc", "", 404},
		{"malformed vote", "POST", thor, path, `nope`, 400},
	}
	for _, ck := range checks {
		if code := c.do(ck.method, ck.host, ck.path, ck.body, nil); code != ck.want {
			t.Errorf("%s: %d, want %d", ck.name, code, ck.want)
		}
	}
	// potter's poll id 1 exists in potter only; thor's id 1 is thor's own.
	if code := c.do("GET", potter, fmt.Sprintf("/polls/%d", created.ID), "", &got); code != 200 || got.Question != "Best house?" {
		t.Fatalf("potter's poll %d: %d %+v", created.ID, code, got)
	}
	if code := c.do("GET", potter, fmt.Sprintf("/polls/%d", potterPoll.ID+1), "", nil); code != 404 {
		t.Fatalf("potter sees a poll it does not have: %d", code)
	}
}
