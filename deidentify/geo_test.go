package deidentify

import (
	"strings"
	"testing"
)

// iso3166 lists every officially assigned ISO 3166-1 alpha-2 code, written
// out independently of the M49 table in geo.go.
const iso3166 = `
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW`

var continents = map[string]bool{"Africa": true, "Americas": true, "Asia": true, "Europe": true, "Oceania": true}

func TestCountryRegionCoversISO3166(t *testing.T) {
	t.Parallel()
	codes := strings.Fields(iso3166)
	if len(codes) != 249 {
		t.Fatalf("test list has %d codes, want 249", len(codes))
	}
	for _, code := range codes {
		r, rok := CountryRegion(code)
		c, cok := CountryContinent(code)
		if code == "AQ" {
			if rok || cok || r != "" || c != "" {
				t.Errorf("Antarctica: got region %q, %v, continent %q, %v; want none", r, rok, c, cok)
			}
			continue
		}
		if !rok || r == "" {
			t.Errorf("CountryRegion(%q) = %q, %v; want a region", code, r, rok)
		}
		if !cok || !continents[c] {
			t.Errorf("CountryContinent(%q) = %q, %v; want one of the five M49 regions", code, c, cok)
		}
	}
	// The table holds nothing but these codes.
	if got := len(countryRegionIndex); got != len(codes)-1 {
		t.Errorf("table has %d codes, want %d", got, len(codes)-1)
	}
}

func TestSubRegionsHaveOneContinent(t *testing.T) {
	t.Parallel()
	continentOf := make(map[string]string)
	for _, code := range strings.Fields(iso3166) {
		r, ok := CountryRegion(code)
		if !ok {
			continue
		}
		c, _ := CountryContinent(code)
		if prev, seen := continentOf[r]; seen && prev != c {
			t.Errorf("region %q is in both %q and %q (at %s)", r, prev, c, code)
		}
		continentOf[r] = c
		if continents[r] {
			t.Errorf("region of %s is the continent %q", code, r)
		}
	}
	if len(continentOf) != 22 {
		t.Errorf("got %d regions, want 22: %v", len(continentOf), continentOf)
	}
}

func TestCountryRegion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code, region, continent string
		ok                      bool
	}{
		{"SE", "Northern Europe", "Europe", true},
		{"gb", "Northern Europe", "Europe", true},
		{"Ie", "Northern Europe", "Europe", true},
		{"JE", "Northern Europe", "Europe", true},
		{"DE", "Western Europe", "Europe", true},
		{"PL", "Eastern Europe", "Europe", true},
		{"RU", "Eastern Europe", "Europe", true},
		{"ES", "Southern Europe", "Europe", true},
		{"NG", "Western Africa", "Africa", true},
		{"SH", "Western Africa", "Africa", true},
		{"KE", "Eastern Africa", "Africa", true},
		{"CM", "Middle Africa", "Africa", true},
		{"ZA", "Southern Africa", "Africa", true},
		{"EG", "Northern Africa", "Africa", true},
		{"US", "Northern America", "Americas", true},
		{"GL", "Northern America", "Americas", true},
		{"MX", "Central America", "Americas", true},
		{"JM", "Caribbean", "Americas", true},
		{"br", "South America", "Americas", true},
		{"FK", "South America", "Americas", true},
		{"IN", "Southern Asia", "Asia", true},
		{"IR", "Southern Asia", "Asia", true},
		{"CN", "Eastern Asia", "Asia", true},
		{"TW", "Eastern Asia", "Asia", true},
		{"VN", "South-eastern Asia", "Asia", true},
		{"KZ", "Central Asia", "Asia", true},
		{"TR", "Western Asia", "Asia", true},
		{"CY", "Western Asia", "Asia", true},
		{"AU", "Australia and New Zealand", "Oceania", true},
		{"FJ", "Melanesia", "Oceania", true},
		{"GU", "Micronesia", "Oceania", true},
		{"WS", "Polynesia", "Oceania", true},
		{"AQ", "", "", false},
		{"", "", "", false},
		{"U", "", "", false},
		{"USA", "", "", false},
		{" US", "", "", false},
		{"ZZ", "", "", false},
		{"XK", "", "", false}, // user-assigned, not ISO 3166-1
		{"U\x00", "", "", false},
		{"\xc3\xa9", "", "", false},
	}
	for _, tt := range tests {
		r, rok := CountryRegion(tt.code)
		c, cok := CountryContinent(tt.code)
		if r != tt.region || rok != tt.ok || c != tt.continent || cok != tt.ok {
			t.Errorf("%q: got %q, %v / %q, %v; want %q / %q, %v", tt.code, r, rok, c, cok, tt.region, tt.continent, tt.ok)
		}
	}
}

func FuzzCountryRegion(f *testing.F) {
	f.Fuzz(func(t *testing.T, code string) {
		r, rok := CountryRegion(code)
		c, cok := CountryContinent(code)
		if rok != cok || (r == "") == rok || (c == "") == cok {
			t.Fatalf("%q: region %q, %v; continent %q, %v", code, r, rok, c, cok)
		}
		if rok && len(code) != 2 {
			t.Fatalf("%q: a code of length %d has a region", code, len(code))
		}
		if r2, _ := CountryRegion(strings.ToUpper(code)); rok && r2 != r {
			t.Fatalf("%q: upper case gives %q, want %q", code, r2, r)
		}
	})
}
