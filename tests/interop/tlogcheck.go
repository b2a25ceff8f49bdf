// tlogcheck checks a daylight log with the Go reference implementation
// (golang.org/x/mod/sumdb/tlog and sumdb/note), which daylight did not write.
//
// It verifies the checkpoint's signature with sumdb/note, reads the C2SP
// tlog-tiles hash tiles through tlog.TileHashReader (which authenticates every
// tile against the signed root), checks that each entry of the entry bundles
// hashes to its leaf, and compares the node's own inclusion and consistency
// proof endpoints with proofs the reference builds from the tiles.
//
// With -static the log is a static copy (a web server's directory, DESIGN §5.6),
// which has no proof endpoints: every tile, entry and signature check still
// runs, the comparisons with served proofs are skipped. With -old-checkpoint
// FILE it also checks, from tiles only, that the tree of that earlier
// checkpoint (signed by the same key) is a prefix of the current one.
//
// Usage: tlogcheck -log http://127.0.0.1:PORT/log/MEMBER -vkey VKEY [-static] [-old-checkpoint FILE]
// Build: GO111MODULE=off GOPATH=/usr/share/gocode go run tlogcheck.go ...
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func fetch(url string) []byte {
	resp, err := http.Get(url)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		fail("GET %s: status %d %v: %s", url, resp.StatusCode, err, body)
	}
	return body
}

// tiles serves C2SP tile paths: the reference writes tile/8/L/N, the C2SP
// layout drops the height element.
type tiles struct{ base string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(list))
	for i, tile := range list {
		path := strings.Replace(tile.Path(), "tile/8/", "tile/", 1)
		out[i] = fetch(t.base + "/" + path)
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func proofFrom(url string) []tlog.Hash {
	var answer struct{ Proof []string }
	if err := json.Unmarshal(fetch(url), &answer); err != nil {
		fail("%s: %v", url, err)
	}
	proof := make([]tlog.Hash, len(answer.Proof))
	for i, h := range answer.Proof {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(b) != 32 {
			fail("%s: bad hash %q", url, h)
		}
		copy(proof[i][:], b)
	}
	return proof
}

func equal(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func main() {
	base := flag.String("log", "", "log URL prefix, e.g. http://127.0.0.1:8080/log/county-1")
	vkey := flag.String("vkey", "", "the log's verifier key")
	static := flag.Bool("static", false, "a static copy: no proof endpoints to compare")
	oldFile := flag.String("old-checkpoint", "", "an earlier checkpoint note (file) whose tree must be a prefix of the current one")
	flag.Parse()

	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("vkey: %v", err)
	}
	tree := openCheckpoint(fetch(*base+"/checkpoint"), verifier)
	size := tree.N

	reader := tlog.TileHashReader(tree, tiles{*base})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil || root != tree.Hash {
		fail("tree hash from tiles: %v (%v vs %v)", err, root, tree.Hash)
	}

	// Every entry of the entry bundles hashes to its authenticated leaf.
	for start := int64(0); start < size; start += 256 {
		width := size - start
		path := fmt.Sprintf("%s/tile/entries/%s", *base, tileIndex(start/256))
		if width < 256 {
			path += fmt.Sprintf(".p/%d", width)
		} else {
			width = 256
		}
		bundle := fetch(path)
		for i := int64(0); i < width; i++ {
			if len(bundle) < 2 {
				fail("entry bundle %s truncated", path)
			}
			l := int(binary.BigEndian.Uint16(bundle))
			if len(bundle) < 2+l {
				fail("entry bundle %s truncated", path)
			}
			entry := bundle[2 : 2+l]
			bundle = bundle[2+l:]
			leaf, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, start+i)})
			if err != nil {
				fail("leaf %d: %v", start+i, err)
			}
			if tlog.RecordHash(entry) != leaf[0] {
				fail("entry %d does not hash to its leaf", start+i)
			}
			proof, err := tlog.ProveRecord(size, start+i, reader)
			if err != nil {
				fail("prove %d: %v", start+i, err)
			}
			if err := tlog.CheckRecord(proof, size, tree.Hash, start+i, leaf[0]); err != nil {
				fail("check %d: %v", start+i, err)
			}
			if !*static && (start+i)%7 == 0 {
				served := proofFrom(fmt.Sprintf("%s/proof/inclusion?index=%d&size=%d", *base, start+i, size))
				if !equal(served, proof) {
					fail("served inclusion proof of %d differs from the reference", start+i)
				}
			}
		}
		if len(bundle) != 0 {
			fail("entry bundle %s has trailing bytes", path)
		}
	}

	// Consistency proofs: the node's equal the reference's, and check.
	for old := int64(1); old < size; old = old*2 + 1 {
		proof, err := tlog.ProveTree(size, old, reader)
		if err != nil {
			fail("prove tree %d: %v", old, err)
		}
		if !*static {
			served := proofFrom(fmt.Sprintf("%s/proof/consistency?old=%d&new=%d", *base, old, size))
			if !equal(served, proof) {
				fail("served consistency proof %d→%d differs from the reference", old, size)
			}
		}
		oldRoot, err := tlog.TreeHash(old, reader)
		if err != nil {
			fail("tree hash %d: %v", old, err)
		}
		if err := tlog.CheckTree(proof, size, tree.Hash, old, oldRoot); err != nil {
			fail("check tree %d: %v", old, err)
		}
	}

	// An earlier checkpoint: its tree is a prefix of this one, proved from the tiles alone.
	if *oldFile != "" {
		text, err := os.ReadFile(*oldFile)
		if err != nil {
			fail("old checkpoint: %v", err)
		}
		old := openCheckpoint(text, verifier)
		if old.N > size {
			fail("the old checkpoint (size %d) is larger than the current one (%d)", old.N, size)
		}
		proof, err := tlog.ProveTree(size, old.N, reader)
		if err != nil {
			fail("prove tree %d→%d: %v", old.N, size, err)
		}
		if err := tlog.CheckTree(proof, size, tree.Hash, old.N, old.Hash); err != nil {
			fail("the old checkpoint of size %d is not a prefix of size %d: %v", old.N, size, err)
		}
		fmt.Printf("OK consistent from size %d to %d\n", old.N, size)
	}
	fmt.Printf("OK %s size %d verified with golang.org/x/mod/sumdb\n", verifier.Name(), size)
}

// openCheckpoint verifies a checkpoint note's log signature and returns its tree.
func openCheckpoint(msg []byte, verifier note.Verifier) tlog.Tree {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint body %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != 32 {
		fail("checkpoint root %q", lines[2])
	}
	var tree tlog.Tree
	tree.N = size
	copy(tree.Hash[:], rootBytes)
	return tree
}

// tileIndex writes n in the C2SP 3-digit-group form, e.g. x001/234.
func tileIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}
