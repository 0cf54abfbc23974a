package deidentify

// IdentityLadder returns a ladder with the single step "exact", which
// publishes values as they are: for a quasi-identifier, such as gender, that
// has no useful coarser form and is left to suppression.
func IdentityLadder() []Step {
	return []Step{{Name: "exact", Apply: identity}}
}

// CountryLadder returns the ladder of an ISO 3166-1 alpha-2 country code:
// "country" (the code as is), "region" (CountryRegion) and "continent"
// (CountryContinent). A code that is not known publishes null at the coarser
// steps.
func CountryLadder() []Step {
	return []Step{
		{Name: "country", Apply: identity},
		{Name: "region", Apply: func(code string) string { r, _ := CountryRegion(code); return r }},
		{Name: "continent", Apply: func(code string) string { c, _ := CountryContinent(code); return c }},
	}
}

// AgeBandLadder returns the ladder of a five-year age band as returned by
// AgeBand: "5-year" (the band as is) and "10-year" (WidenAgeBand).
func AgeBandLadder() []Step {
	return []Step{
		{Name: "5-year", Apply: identity},
		{Name: "10-year", Apply: WidenAgeBand},
	}
}

func identity(s string) string { return s }
