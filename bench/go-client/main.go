// A fixed-rate load generator that calls the webhook the way kube-apiserver's
// webhook client does (k8s.io/apiserver/pkg/util/webhook, client-go rest,
// k8s.io/apimachinery/pkg/util/net.SetTransportDefaults): one shared
// http.Transport with MaxIdleConnsPerHost 25, IdleConnTimeout 90 s, a 10 s TLS
// handshake timeout, HTTP/2 when the server offers it (-proto h2) or HTTP/1.1
// only (-proto http1), and a per-call context timeout that is cancelled as
// soon as the call returns, which is what makes Go's transport (before Go
// 1.23, golang/go#59017) abandon half-finished dials.
//
// Open loop: request i is due at start + i/rate, whether or not earlier ones
// have been answered, and its latency runs from that due time to the last
// byte of the answer, so a stalled server counts against every request queued
// behind it. Standard library only (the Go that provision.sh installs).
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
	"net/http/httptrace"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	Proto        string  `json:"proto"`
	Rate         int     `json:"rate"`
	Sent         int     `json:"sent"`
	OK           int     `json:"ok"`
	Bad          int     `json:"bad"`
	Errors       int     `json:"errors"`
	FirstError   string  `json:"firstError,omitempty"`
	P50Ms        float64 `json:"p50Ms"`
	P90Ms        float64 `json:"p90Ms"`
	P99Ms        float64 `json:"p99Ms"`
	MaxMs        float64 `json:"maxMs"`
	SendLagP99Ms float64 `json:"sendLagP99Ms"`
	// Client side: dials started, TLS handshakes completed, distinct connections that carried a request.
	Dials      int64 `json:"dials"`
	Handshakes int64 `json:"handshakes"`
	ConnsUsed  int   `json:"connsUsed"`
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func main() {
	url := flag.String("url", "", "webhook URL, e.g. https://127.0.0.1:8443/mutate?timeout=10s")
	caFile := flag.String("ca", "", "CA certificate (PEM)")
	bodyFile := flag.String("body", "", "AdmissionReview JSON to POST")
	proto := flag.String("proto", "h2", "h2 or http1")
	rate := flag.Int("rate", 500, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "measured time")
	warmup := flag.Duration("warmup", 2*time.Second, "time at the same rate before measuring")
	timeout := flag.Duration("timeout", 10*time.Second, "per-call timeout (the API server's webhook timeout)")
	flag.Parse()

	ca, err := os.ReadFile(*caFile)
	must(err)
	body, err := os.ReadFile(*bodyFile)
	must(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		must(fmt.Errorf("no certificate in %s", *caFile))
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
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
	client := &http.Client{Transport: transport}

	var dials, handshakes int64
	var connsMu sync.Mutex
	conns := map[string]bool{}
	trace := &httptrace.ClientTrace{
		ConnectStart: func(string, string) { atomic.AddInt64(&dials, 1) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				atomic.AddInt64(&handshakes, 1)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			connsMu.Lock()
			conns[info.Conn.LocalAddr().String()] = true
			connsMu.Unlock()
		},
	}

	type sample struct {
		latency, lag time.Duration
		ok           bool
		err          error
	}
	interval := time.Second / time.Duration(*rate)
	total := int((*warmup + *duration) / interval)
	warmupCount := int(*warmup / interval)
	samples := make([]sample, total)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			lag := time.Since(due)
			ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), *timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
			must(err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, */*")
			resp, err := client.Do(req)
			ok := false
			if err == nil {
				answer, readErr := io.ReadAll(resp.Body)
				resp.Body.Close()
				err = readErr
				ok = resp.StatusCode == 200 && bytes.Contains(answer, []byte(`"patchType":"JSONPatch"`))
			}
			samples[i] = sample{latency: time.Since(due), lag: lag, ok: ok, err: err}
		}(i, due)
	}
	wg.Wait()

	r := result{Proto: *proto, Rate: *rate, Dials: atomic.LoadInt64(&dials), Handshakes: atomic.LoadInt64(&handshakes), ConnsUsed: len(conns)}
	var latencies, lags []float64
	for _, s := range samples[warmupCount:] {
		r.Sent++
		switch {
		case s.err != nil:
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = s.err.Error()
			}
		case !s.ok:
			r.Bad++
		default:
			r.OK++
		}
		latencies = append(latencies, float64(s.latency.Microseconds())/1000)
		lags = append(lags, float64(s.lag.Microseconds())/1000)
	}
	sort.Float64s(latencies)
	sort.Float64s(lags)
	r.P50Ms, r.P90Ms, r.P99Ms = percentile(latencies, 0.50), percentile(latencies, 0.90), percentile(latencies, 0.99)
	r.MaxMs = percentile(latencies, 1)
	r.SendLagP99Ms = percentile(lags, 0.99)
	out, err := json.Marshal(r)
	must(err)
	fmt.Printf("GO_RESULT %s\n", out)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-client:", err)
		os.Exit(2)
	}
}
