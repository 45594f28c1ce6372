// The records benchmark's client (bench/records-bench.ts), two modes:
//
//   -mode=api: GET <url> (our …/backup/records) with a bearer token over one
//     keep-alive HTTP/1.1 or HTTP/2 transport. Sequential (-rate=0: the next
//     request leaves when the previous answer's last byte is in) or open loop
//     at a fixed rate (request i is due at start + i/rate and its latency runs
//     from that due time, so a stalled server counts against every request
//     queued behind it). Every answer must be a 200 carrying -expect records.
//
//   -mode=n1: the region API's approach, as wutong-paas/wutong
//     api/handler/velero.go BackupRecords does it through controller-runtime's
//     client against the API server: list the component's Backups by label
//     wutong.io/service_id, sort them newest first, then one PodVolumeBackup
//     list per Backup (label velero.io/backup-name), one after another, and
//     decode every answer. One run = all of that; its latency is the run's.
//     Sequential runs, as one console page load would cause.
//
// Standard library only (Debian's Go, GO111MODULE=off), like bench/go-client.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"
)

type result struct {
	Mode       string  `json:"mode"`
	Proto      string  `json:"proto"`
	Rate       int     `json:"rate"`
	Sent       int     `json:"sent"`
	OK         int     `json:"ok"`
	Bad        int     `json:"bad"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"firstError,omitempty"`
	P50Ms      float64 `json:"p50Ms"`
	P90Ms      float64 `json:"p90Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
	// Bytes of one answer (api) or of all answers of one run (n1).
	Bytes int `json:"bytes"`
	// n1 only: API calls per run, and the latency of each PodVolumeBackup list.
	Calls         int     `json:"calls,omitempty"`
	ListP50Ms     float64 `json:"listP50Ms,omitempty"`
	ListP99Ms     float64 `json:"listP99Ms,omitempty"`
	BackupsListMs float64 `json:"backupsListMs,omitempty"`
	// Protocol the server answered with (HTTP/1.1, HTTP/2.0).
	ServedProto string `json:"servedProto"`
}

type outcome struct {
	latency time.Duration
	bytes   int
	calls   int
	proto   string
	err     error
	// n1: the Backups list, and each PodVolumeBackup list.
	backupsList time.Duration
	lists       []float64
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

func main() {
	mode := flag.String("mode", "api", "api or n1")
	target := flag.String("url", "", "api: the records URL; n1: the API server's base URL")
	caFile := flag.String("ca", "", "CA certificate (PEM) of the server")
	tokenFile := flag.String("token-file", "", "file holding the bearer token")
	proto := flag.String("proto", "h2", "h2 or http1")
	n := flag.Int("n", 200, "measured requests (api) or runs (n1)")
	warmup := flag.Int("warmup", 20, "requests or runs before measuring")
	rate := flag.Int("rate", 0, "api: requests per second, open loop; 0 = sequential")
	expect := flag.Int("expect", 1000, "records (api) or Backups (n1) each answer must carry")
	expectVolumes := flag.Int("expect-volumes", 2000, "n1: PodVolumeBackups a run must find in all")
	namespace := flag.String("namespace", "velero", "n1: Velero's namespace")
	serviceID := flag.String("service-id", "", "n1: the component's service_id")
	timeout := flag.Duration("timeout", 60*time.Second, "per request (api) or per run (n1)")
	budget := flag.Duration("budget", 0, "sequential: start no new measured request or run after this long (at least one runs); 0 = no limit")
	flag.Parse()

	ca, err := os.ReadFile(*caFile)
	must(err)
	token, err := os.ReadFile(*tokenFile)
	must(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		must(fmt.Errorf("no certificate in %s", *caFile))
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 25,
	}
	switch *proto {
	case "h2":
		transport.ForceAttemptHTTP2 = true
	case "http1":
		// A non-nil empty map turns the bundled HTTP/2 off.
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	default:
		must(fmt.Errorf("-proto must be h2 or http1"))
	}
	c := &caller{client: &http.Client{Transport: transport}, token: "Bearer " + string(bytes.TrimSpace(token))}

	var once func(ctx context.Context) outcome
	switch *mode {
	case "api":
		once = func(ctx context.Context) outcome { return c.records(ctx, *target, *expect) }
	case "n1":
		if *serviceID == "" {
			must(fmt.Errorf("-mode=n1 needs -service-id"))
		}
		once = func(ctx context.Context) outcome {
			return c.nPlusOne(ctx, *target, *namespace, *serviceID, *expect, *expectVolumes)
		}
	default:
		must(fmt.Errorf("-mode must be api or n1"))
	}
	timed := func(due time.Time) outcome {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		o := once(ctx)
		o.latency = time.Since(due)
		return o
	}

	for i := 0; i < *warmup; i++ {
		if o := timed(time.Now()); o.err != nil {
			must(fmt.Errorf("warm-up: %w", o.err))
		}
	}
	outcomes := make([]outcome, *n)
	if *rate <= 0 {
		began := time.Now()
		for i := range outcomes {
			if i > 0 && *budget > 0 && time.Since(began) > *budget {
				outcomes = outcomes[:i]
				break
			}
			outcomes[i] = timed(time.Now())
		}
	} else {
		interval := time.Second / time.Duration(*rate)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range outcomes {
			due := start.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func(i int, due time.Time) {
				defer wg.Done()
				outcomes[i] = timed(due)
			}(i, due)
		}
		wg.Wait()
	}

	r := result{Mode: *mode, Proto: *proto, Rate: *rate}
	var latencies, lists []float64
	for _, o := range outcomes {
		lists = append(lists, o.lists...)
		if o.backupsList > 0 {
			r.BackupsListMs = float64(o.backupsList.Microseconds()) / 1000
		}
		r.Sent++
		if o.err != nil {
			if _, bad := o.err.(badAnswer); bad {
				r.Bad++
			} else {
				r.Errors++
			}
			if r.FirstError == "" {
				r.FirstError = o.err.Error()
			}
		} else {
			r.OK++
			r.Bytes, r.Calls, r.ServedProto = o.bytes, o.calls, o.proto
		}
		latencies = append(latencies, float64(o.latency.Microseconds())/1000)
	}
	sort.Float64s(latencies)
	r.P50Ms, r.P90Ms, r.P99Ms = percentile(latencies, 0.50), percentile(latencies, 0.90), percentile(latencies, 0.99)
	r.MaxMs = percentile(latencies, 1)
	sort.Float64s(lists)
	r.ListP50Ms, r.ListP99Ms = percentile(lists, 0.50), percentile(lists, 0.99)
	out, err := json.Marshal(r)
	must(err)
	fmt.Printf("GO_RESULT %s\n", out)
}

// badAnswer: the server answered, but not what a correct answer must be.
type badAnswer struct{ msg string }

func (b badAnswer) Error() string { return b.msg }

type caller struct {
	client *http.Client
	token  string
}

func (c *caller) get(ctx context.Context, target string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", badAnswer{fmt.Sprintf("GET %s: HTTP %d %.300s", target, resp.StatusCode, body)}
	}
	return body, resp.Proto, nil
}

// records: one GET of our API; the record count is checked after the last
// byte is in (the latency is taken by the caller, so this check adds to it:
// a byte count, microseconds on 0.5 MB).
func (c *caller) records(ctx context.Context, target string, expect int) outcome {
	body, proto, err := c.get(ctx, target)
	if err != nil {
		return outcome{err: err}
	}
	if got := bytes.Count(body, []byte(`{"backup_id":`)); got != expect || !bytes.HasPrefix(body, []byte(`{"list":[`)) {
		return outcome{err: badAnswer{fmt.Sprintf("%d records, want %d: %.200s", got, expect, body)}}
	}
	return outcome{bytes: len(body), calls: 1, proto: proto}
}

// What BackupRecords reads of a Backup and a PodVolumeBackup (it decodes
// into Velero's full types; decoding into these smaller ones is, if anything,
// kinder to the N+1 approach).
type backupList struct {
	Items []struct {
		Metadata struct {
			Name              string            `json:"name"`
			CreationTimestamp time.Time         `json:"creationTimestamp"`
			Labels            map[string]string `json:"labels"`
			Annotations       map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			TTL string `json:"ttl"`
		} `json:"spec"`
		Status struct {
			Phase               string     `json:"phase"`
			StartTimestamp      *time.Time `json:"startTimestamp"`
			CompletionTimestamp *time.Time `json:"completionTimestamp"`
			Expiration          *time.Time `json:"expiration"`
			FailureReason       string     `json:"failureReason"`
			Progress            *struct {
				TotalItems    int `json:"totalItems"`
				ItemsBackedUp int `json:"itemsBackedUp"`
			} `json:"progress"`
		} `json:"status"`
	} `json:"items"`
}

type podVolumeBackupList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			Progress struct {
				TotalBytes int64 `json:"totalBytes"`
				BytesDone  int64 `json:"bytesDone"`
			} `json:"progress"`
		} `json:"status"`
	} `json:"items"`
}

func (c *caller) nPlusOne(ctx context.Context, server, namespace, serviceID string, expect, expectVolumes int) outcome {
	base := fmt.Sprintf("%s/apis/velero.io/v1/namespaces/%s", server, namespace)
	began := time.Now()
	body, proto, err := c.get(ctx, base+"/backups?labelSelector="+url.QueryEscape("wutong.io/service_id="+serviceID))
	if err != nil {
		return outcome{err: err}
	}
	total, calls, backupsList := len(body), 1, time.Since(began)
	var lists []float64
	var backups backupList
	if err := json.Unmarshal(body, &backups); err != nil {
		return outcome{err: badAnswer{"backups: " + err.Error()}}
	}
	if len(backups.Items) != expect {
		return outcome{err: badAnswer{fmt.Sprintf("%d Backups, want %d", len(backups.Items), expect)}}
	}
	sort.Slice(backups.Items, func(i, j int) bool {
		return backups.Items[i].Metadata.CreationTimestamp.After(backups.Items[j].Metadata.CreationTimestamp)
	})
	volumes := 0
	for _, b := range backups.Items {
		listed := time.Now()
		body, _, err := c.get(ctx, base+"/podvolumebackups?labelSelector="+url.QueryEscape("velero.io/backup-name="+b.Metadata.Name))
		if err != nil {
			return outcome{err: err}
		}
		lists = append(lists, float64(time.Since(listed).Microseconds())/1000)
		total += len(body)
		calls++
		var pvbs podVolumeBackupList
		if err := json.Unmarshal(body, &pvbs); err != nil {
			return outcome{err: badAnswer{"podvolumebackups: " + err.Error()}}
		}
		volumes += len(pvbs.Items)
	}
	if volumes != expectVolumes {
		return outcome{err: badAnswer{fmt.Sprintf("%d PodVolumeBackups, want %d", volumes, expectVolumes)}}
	}
	return outcome{bytes: total, calls: calls, proto: proto, backupsList: backupsList, lists: lists}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-records:", err)
		os.Exit(2)
	}
}
