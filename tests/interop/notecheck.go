// notecheck opens a signed note with Go's golang.org/x/mod/sumdb/note (Debian's
// golang-golang-x-mod-dev), an implementation of the signed-note format independent of
// samizdat: it prints the key that verified the note and its text, or why it did not.
//
//	notecheck VKEY NOTE-FILE
package main

import (
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: notecheck VKEY NOTE-FILE")
		os.Exit(2)
	}
	message, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Println("read:", err)
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fmt.Println("verifier key:", err)
		os.Exit(2)
	}
	opened, err := note.Open(message, note.VerifierList(verifier))
	if err != nil {
		fmt.Println("rejected:", err)
		os.Exit(1)
	}
	fmt.Printf("verified by %s (%d other signatures not checked)\n", opened.Sigs[0].Name, len(opened.UnverifiedSigs))
	fmt.Print(opened.Text)
}
