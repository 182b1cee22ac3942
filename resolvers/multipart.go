package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// Headers that make a multipart request safe from cross-site posting: a web
// page cannot set them without a CORS preflight (as Apollo's CSRF
// prevention requires).
const (
	headerPreflight       = "GraphQL-Require-Preflight"
	headerApolloPreflight = "Apollo-Require-Preflight"
)

// maxUploadMap bounds the "map" part of a multipart request.
const maxUploadMap = 64 << 10

// postMultipart is the GraphQL multipart request spec
// (github.com/jaydenseric/graphql-multipart-request-spec) for uploads. It
// replaces gqlgen's transport.MultipartForm, which buffers a whole body
// without Content-Length in memory, decodes an operations part of any size
// and answers some failures with 200; this one keeps the JSON transport's
// rules for the operations part (MaxBodyBytes, no batching, errors that
// never echo the body), holds at most memory bytes of each file in memory
// and spools the rest to a temporary file removed when the request ends.
// The handler has checked the preflight header and bounded the body.
type postMultipart struct {
	maxOperations int64
	memory        int64
	timeout       time.Duration
}

var _ graphql.Transport = postMultipart{}

func (postMultipart) Supports(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && err == nil && mt == "multipart/form-data"
}

func (t postMultipart) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	sp := &spooler{memory: t.memory}
	defer sp.cleanup()
	params, status, msg := t.read(r, sp)
	if msg != "" {
		writeRequestError(w, status, msg)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	ctx, cancel := context.WithTimeout(r.Context(), t.timeout)
	defer cancel()
	execute(ctx, w, exec, params)
}

// read decodes the operations, the map and the files. The message it
// returns on failure describes the problem, never the body.
func (t postMultipart) read(r *http.Request, sp *spooler) (*graphql.RawParams, int, string) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, http.StatusBadRequest, "the multipart body has no boundary"
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "operations" {
		return nil, http.StatusBadRequest, "the first part of a multipart request must be \"operations\""
	}
	body, err := io.ReadAll(io.LimitReader(part, t.maxOperations+1))
	if err != nil {
		return nil, http.StatusBadRequest, "could not read the operations part"
	}
	if int64(len(body)) > t.maxOperations {
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("the operations part exceeds %d bytes", t.maxOperations)
	}
	params, msg := decodeParams(body)
	if msg != "" {
		return nil, http.StatusBadRequest, "operations: " + msg
	}
	part, err = mr.NextPart()
	if err != nil || part.FormName() != "map" {
		return nil, http.StatusBadRequest, "the second part of a multipart request must be \"map\""
	}
	raw, err := io.ReadAll(io.LimitReader(part, maxUploadMap+1))
	if err != nil || len(raw) > maxUploadMap {
		return nil, http.StatusBadRequest, fmt.Sprintf("the map part must be a JSON object of at most %d bytes", maxUploadMap)
	}
	files := map[string][]string{}
	if err := json.Unmarshal(raw, &files); err != nil {
		return nil, http.StatusBadRequest, "the map part must be a JSON object of file keys to lists of variable paths"
	}
	if len(files) > maxUploadFiles {
		return nil, http.StatusBadRequest, fmt.Sprintf("at most %d files per request", maxUploadFiles)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, http.StatusBadRequest, "the multipart body is malformed or was cut short"
		}
		key := part.FormName()
		paths, ok := files[key]
		if !ok || len(paths) == 0 {
			return nil, http.StatusBadRequest, "a file part is not named in the map"
		}
		delete(files, key)
		size, open, err := sp.spool(part)
		if err != nil {
			return nil, http.StatusBadRequest, "could not read a file part"
		}
		for _, p := range paths {
			f, err := open()
			if err != nil {
				return nil, http.StatusInternalServerError, "could not store a file part"
			}
			up := graphql.Upload{File: f, Size: size, Filename: part.FileName(), ContentType: part.Header.Get("Content-Type")}
			if err := params.AddUpload(up, key, p); err != nil {
				return nil, http.StatusBadRequest, "the map names a variable path the operations do not have"
			}
		}
	}
	if len(files) > 0 {
		return nil, http.StatusBadRequest, "the map names a file the body does not have"
	}
	return params, 0, ""
}

// spooler holds uploaded files: small ones in memory, the rest in
// temporary files that cleanup closes and removes.
type spooler struct {
	memory int64
	files  []*os.File
	names  []string
}

// spool reads one file and returns its size and a function that opens a
// fresh reader of it (one per variable path it is mapped to).
func (s *spooler) spool(r io.Reader) (int64, func() (io.ReadSeeker, error), error) {
	head, err := io.ReadAll(io.LimitReader(r, s.memory+1))
	if err != nil {
		return 0, nil, err
	}
	if int64(len(head)) <= s.memory {
		return int64(len(head)), func() (io.ReadSeeker, error) { return bytes.NewReader(head), nil }, nil
	}
	f, err := os.CreateTemp("", "pedigree-upload-*")
	if err != nil {
		return 0, nil, err
	}
	s.files = append(s.files, f)
	s.names = append(s.names, f.Name())
	n, err := io.CopyBuffer(f, io.MultiReader(bytes.NewReader(head), r), make([]byte, 64<<10))
	if err != nil {
		return 0, nil, err
	}
	name := f.Name()
	return n, func() (io.ReadSeeker, error) {
		g, err := os.Open(name)
		if err == nil {
			s.files = append(s.files, g)
		}
		return g, err
	}, nil
}

func (s *spooler) cleanup() {
	for _, f := range s.files {
		_ = f.Close()
	}
	for _, n := range s.names {
		_ = os.Remove(n)
	}
}
