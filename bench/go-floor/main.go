// The floor for the Go-client rows: a Go net/http server (HTTP/2 and
// HTTP/1.1, like the webhook) on the same core with the same certificate,
// which reads and decodes each review and answers a fixed AdmissionReview.
// What the Go client measures against it is the client's and the machine's
// own share of latency, and the connections Go's transport opens against a
// server that finishes handshakes in microseconds. Standard library only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cert := flag.String("cert", "", "tls.crt")
	key := flag.String("key", "", "tls.key")
	flag.Parse()

	var accepted int64
	answer := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"x","allowed":true,"patchType":"JSONPatch","patch":"W10="}}`)
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var review map[string]interface{}
		if err == nil {
			err = json.Unmarshal(body, &review)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})
	mux.HandleFunc("/connections", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", atomic.LoadInt64(&accepted))
	})
	listener, err := net.Listen("tcp", *addr)
	must(err)
	server := &http.Server{Handler: mux, ConnState: func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			atomic.AddInt64(&accepted, 1)
		}
	}}
	fmt.Printf("FLOOR_LISTENING %s\n", listener.Addr().String())
	must(server.ServeTLS(listener, *cert, *key))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-floor:", err)
		os.Exit(2)
	}
}
