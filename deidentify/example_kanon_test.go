package deidentify_test

import (
	"fmt"

	"github.com/rexport/rexport/deidentify"
)

func ExampleKAnonymize() {
	records := []deidentify.KAnonRecord{
		{Person: "l1", QI: []string{"SE", "20-24"}},
		{Person: "l2", QI: []string{"NO", "25-29"}},
		{Person: "l3", QI: []string{"DK", "20-24"}},
		{Person: "l4", QI: []string{"JP", "40-44"}},
	}
	res, err := deidentify.KAnonymize(records, deidentify.KAnonConfig{
		K: 3,
		QIs: []deidentify.QI{
			{Name: "country", Steps: deidentify.CountryLadder()},
			{Name: "age_band", Steps: deidentify.AgeBandLadder()},
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Report.Ladder)
	for i, r := range res.Records {
		fmt.Printf("%s %q suppressed=%v\n", r.Person, r.QI, res.Suppressed[i])
	}
	fmt.Println("k achieved:", res.Report.KAchieved)
	// Output:
	// map[age_band:10-year country:region]
	// l1 ["Northern Europe" "20-29"] suppressed=false
	// l2 ["Northern Europe" "20-29"] suppressed=false
	// l3 ["Northern Europe" "20-29"] suppressed=false
	// l4 ["" ""] suppressed=true
	// k achieved: 3
}
