package deidentify

// m49Regions lists, for each region of the UN M49 geoscheme used by
// CountryRegion, its continent (the M49 region) and the ISO 3166-1 alpha-2
// codes of its countries and territories.
//
// Where M49 splits a sub-region into intermediate regions that are useful
// for generalisation (Sub-Saharan Africa; Latin America and the Caribbean)
// the intermediate region is used, because the sub-region alone would be
// almost as coarse as the continent. The Channel Islands (GG, JE), an
// intermediate region of two territories, are folded into Northern Europe.
// Taiwan (TW), which M49 does not list separately, is in Eastern Asia.
// Antarctica (AQ) belongs to no region.
var m49Regions = [...]struct {
	name, continent, codes string
}{
	{"Northern Africa", "Africa", "DZ EG EH LY MA SD TN"},
	{"Eastern Africa", "Africa", "BI DJ ER ET IO KE KM MG MU MW MZ RE RW SC SO SS TF TZ UG YT ZM ZW"},
	{"Middle Africa", "Africa", "AO CD CF CG CM GA GQ ST TD"},
	{"Southern Africa", "Africa", "BW LS NA SZ ZA"},
	{"Western Africa", "Africa", "BF BJ CI CV GH GM GN GW LR ML MR NE NG SH SL SN TG"},

	{"Caribbean", "Americas", "AG AI AW BB BL BQ BS CU CW DM DO GD GP HT JM KN KY LC MF MQ MS PR SX TC TT VC VG VI"},
	{"Central America", "Americas", "BZ CR GT HN MX NI PA SV"},
	{"South America", "Americas", "AR BO BR BV CL CO EC FK GF GS GY PE PY SR UY VE"},
	{"Northern America", "Americas", "BM CA GL PM US"},

	{"Central Asia", "Asia", "KG KZ TJ TM UZ"},
	{"Eastern Asia", "Asia", "CN HK JP KP KR MN MO TW"},
	{"South-eastern Asia", "Asia", "BN ID KH LA MM MY PH SG TH TL VN"},
	{"Southern Asia", "Asia", "AF BD BT IN IR LK MV NP PK"},
	{"Western Asia", "Asia", "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE"},

	{"Eastern Europe", "Europe", "BG BY CZ HU MD PL RO RU SK UA"},
	{"Northern Europe", "Europe", "AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ"},
	{"Southern Europe", "Europe", "AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA"},
	{"Western Europe", "Europe", "AT BE CH DE FR LI LU MC NL"},

	{"Australia and New Zealand", "Oceania", "AU CC CX HM NF NZ"},
	{"Melanesia", "Oceania", "FJ NC PG SB VU"},
	{"Micronesia", "Oceania", "FM GU KI MH MP NR PW UM"},
	{"Polynesia", "Oceania", "AS CK NU PF PN TK TO TV WF WS"},
}

// countryRegionIndex maps an upper-case alpha-2 code to its index in
// m49Regions. It is built once and never modified.
var countryRegionIndex = func() map[[2]byte]uint8 {
	m := make(map[[2]byte]uint8, 256)
	for i, r := range m49Regions {
		for j := 0; j+2 <= len(r.codes); j += 3 {
			code := [2]byte{r.codes[j], r.codes[j+1]}
			if _, dup := m[code]; dup {
				panic("deidentify: country " + string(code[:]) + " is in two M49 regions")
			}
			m[code] = uint8(i)
		}
	}
	return m
}()

// countryRegion returns the index in m49Regions of the region of code, an
// ISO 3166-1 alpha-2 code in any case.
func countryRegion(code string) (int, bool) {
	if len(code) != 2 {
		return 0, false
	}
	var k [2]byte
	for i := range k {
		c := code[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		k[i] = c
	}
	i, ok := countryRegionIndex[k]
	return int(i), ok
}

// CountryRegion returns the UN M49 geographic region of the country or
// territory with the ISO 3166-1 alpha-2 code (case ignored), e.g. "Northern
// Europe" for "se", "Western Africa" for "NG" or "Caribbean" for "JM". For
// Africa south of the Sahara and for Latin America it returns the M49
// intermediate region ("Eastern Africa", "Central America", ...) rather than
// the much wider sub-region. It returns "", false for an unknown code and for
// Antarctica (AQ), which belongs to no region.
func CountryRegion(code string) (string, bool) {
	i, ok := countryRegion(code)
	if !ok {
		return "", false
	}
	return m49Regions[i].name, true
}

// CountryContinent returns the UN M49 region of the country or territory
// with the ISO 3166-1 alpha-2 code (case ignored): "Africa", "Americas",
// "Asia", "Europe" or "Oceania". It returns "", false for an unknown code and
// for Antarctica (AQ).
func CountryContinent(code string) (string, bool) {
	i, ok := countryRegion(code)
	if !ok {
		return "", false
	}
	return m49Regions[i].continent, true
}

// IsRegion reports whether name is one of the regions CountryRegion
// returns, so that a published region can be told from a country code or
// a continent.
func IsRegion(name string) bool {
	for _, r := range m49Regions {
		if r.name == name {
			return true
		}
	}
	return false
}
