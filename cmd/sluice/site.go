package main

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
)

// siteHandler is what every request that is not for the proxy sees: a
// directory of static files, a reverse-proxied upstream site, or a plain
// built-in page, so the proxy looks like an ordinary web server.
func siteHandler(spec string) (http.Handler, error) {
	switch {
	case spec == "":
		return http.HandlerFunc(builtinPage), nil
	case strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://"):
		u, err := url.Parse(spec)
		if err != nil {
			return nil, fmt.Errorf("--site %q: %w", spec, err)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("--site %q: a URL without a host", spec)
		}
		return httputil.NewSingleHostReverseProxy(u), nil
	default:
		st, err := os.Stat(spec)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--site %q: not a directory or an http(s) URL", spec)
		}
		return staticOnly(http.FileServer(http.Dir(spec))), nil
	}
}

const page = `<!doctype html>
<html><head><title>Welcome</title></head>
<body><h1>Welcome</h1><p>This site is under construction.</p></body></html>
`

func builtinPage(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
	case r.URL.Path != "/":
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}
}

// staticOnly answers 405 to every method a static web server does not
// serve, as nginx does; net/http's file server would answer a CONNECT with
// the index page, which no ordinary site does.
func staticOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}
