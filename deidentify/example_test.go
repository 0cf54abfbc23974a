package deidentify_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/rexport/rexport/deidentify"
)

func ExamplePseudonymizer() {
	// In the service the key comes from crypto/rand on first start. The
	// pseudonym below is fixed by the scheme: if it changes, every export
	// changes.
	master, _ := deidentify.GenerateMasterKey(strings.NewReader(strings.Repeat("k", 32)))
	ps, err := deidentify.NewPseudonymizer(master, deidentify.KeyParams{
		Partner: "mitx",
		Scope:   deidentify.ScopePartner,
		Version: 1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(ps.Describe())
	fmt.Println(ps.Pseudonym(deidentify.KindLearner, "1234567"))
	fmt.Println(master) // keys never print
	// Output:
	// HMAC-SHA256, partner scope, key v1
	// l_bnebmyzrm4ebho2jpmhgni57wo4bnbll
	// [REDACTED]
}

func ExampleScrubber_Scrub() {
	sc := deidentify.NewScrubber([]deidentify.Person{
		{Name: "María López", Usernames: []string{"mlopez"}, Token: "[PERSON l_q3xk]"},
	})
	out, findings := sc.Scrub("Thanks Maria Lopez! Ask mlopez, ana at example dot com or +44 20 7946 0958.")
	fmt.Println(out)
	for _, f := range findings {
		fmt.Println(f.Type, f.Start, f.End)
	}
	// Output:
	// Thanks [PERSON l_q3xk]! Ask [USERNAME], [EMAIL] or [PHONE].
	// PERSON 7 18
	// USERNAME 24 30
	// EMAIL 32 54
	// PHONE 58 74
}

func ExampleAgeBand() {
	birth := time.Date(2008, time.February, 29, 0, 0, 0, 0, time.UTC)
	for _, day := range []string{"2021-02-28", "2021-03-01"} {
		t, _ := time.Parse(time.DateOnly, day)
		age := deidentify.AgeAt(birth, t)
		fmt.Println(day, age, age >= deidentify.MinimumAge, deidentify.AgeBand(age))
	}
	// Output:
	// 2021-02-28 12 false 10-14
	// 2021-03-01 13 true 10-14
}
