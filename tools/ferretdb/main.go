// Command clover-ferretdb serves the MongoDB wire protocol on a TCP address from FerretDB 1.x
// with its pure-Go SQLite backend. It exists so that clover's mongoose store is tested against
// a real wire-protocol server on machines where MongoDB itself cannot be installed.
//
// FerretDB's own cmd/ferretdb cannot be built with `go install` (it needs a generated version
// file), so this program embeds FerretDB's public `ferretdb` package instead.
//
// Usage:
//
//	clover-ferretdb -listen 127.0.0.1:0 -data /tmp/dir [-log-level warn]
//
// Once the listener is bound it prints one line to stdout, `ready mongodb://HOST:PORT/`, so a
// caller that asked for port 0 learns the port without racing another process for it. It stops
// on SIGINT or SIGTERM, and when its stdin closes if -exit-on-stdin-eof is set (a test runner
// that dies without cleaning up then takes the server with it).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on; port 0 picks a free port")
	data := flag.String("data", "", "directory for the SQLite files (created if missing); required")
	level := flag.String("log-level", "warn", "debug, info, warn or error")
	stdinEOF := flag.Bool("exit-on-stdin-eof", false, "stop when standard input closes")
	flag.Parse()

	if *data == "" {
		fmt.Fprintln(os.Stderr, "clover-ferretdb: -data is required")
		os.Exit(2)
	}
	dir, err := filepath.Abs(*data)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "clover-ferretdb: data directory: %v\n", err)
		os.Exit(1)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "clover-ferretdb: -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "clover-ferretdb: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	fmt.Printf("ready %s\n", f.MongoDBURI())
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "clover-ferretdb: %v\n", err)
		os.Exit(1)
	}
}
