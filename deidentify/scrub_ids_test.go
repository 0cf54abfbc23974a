package deidentify

import "testing"

func TestFindPhonesByCountry(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findPhones, []detectorCase{
		// International, with lengths checked per country code.
		{"+44 (0)20 7946 0958", []string{"+44 (0)20 7946 0958"}},
		{"+49 30 12345678 and +49-30-12345678", []string{"+49 30 12345678", "+49-30-12345678"}},
		{"+91 98765 43210", []string{"+91 98765 43210"}},
		{"+55 11 91234-5678", []string{"+55 11 91234-5678"}},
		{"+234 803 123 4567", []string{"+234 803 123 4567"}},
		{"+86 138 0013 8000", []string{"+86 138 0013 8000"}},
		{"+81 90-1234-5678", []string{"+81 90-1234-5678"}},
		{"+52 55 1234 5678", []string{"+52 55 1234 5678"}},
		{"0044 20 7946 0958", []string{"0044 20 7946 0958"}},
		{"+1 555 123 456", nil},    // 9 national digits for NANP
		{"+44 20 7946 09581", nil}, // 11 national digits for the UK
		{"+91 98765 4321", nil},    // 9 for India
		{"+0 123 456 7890", nil},   // no country code 0
		// National formats.
		{"US (415) 555-2671 or 415.555.2671 or 4155552671", []string{"(415) 555-2671", "415.555.2671", "4155552671"}},
		{"1 (800) 555-1234", []string{"1 (800) 555-1234"}},
		{"UK 020 7946 0958, mobile 07700 900123, 01632 960123", []string{"020 7946 0958", "07700 900123", "01632 960123"}},
		{"DE 030 12345678 or 030/12345678", []string{"030 12345678", "030/12345678"}},
		{"FR 01.23.45.67.89", []string{"01.23.45.67.89"}},
		{"IN 98765 43210", []string{"98765 43210"}},
		{"BR (11) 91234-5678", []string{"(11) 91234-5678"}},
		{"NG 0803 123 4567", []string{"0803 123 4567"}},
		{"CN 138 0013 8000 or 13800138000", []string{"138 0013 8000", "13800138000"}},
		{"JP 090-1234-5678 or 03-1234-5678", []string{"090-1234-5678", "03-1234-5678"}},
		{"MX 55 1234 5678", []string{"55 1234 5678"}},
		// Not phone numbers.
		{"order #5551234567 and ticket 5551234567, Order no. 4155552671", nil},
		{"range 1990-2000 or 1000-2000", nil},
		{"dates 01/02/2024 and 2024/03/01", nil},
		{"ISBN 9783161484100 and 0-306-40615-2", nil},
		{"id 1234567890 and 123456789012", nil},
		{"card 4111 1111 1111 1111 or 378282246310005", nil},
		{"CPF 123.456.789-09", nil},
		{"SSN 123-45-6789", nil},
		{"hash 12345678901234567890", nil},
		{"at 10:30 score 8/10 v2.10.3", nil},
	})
}

func TestFindCreditCards(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findCreditCards, []detectorCase{
		{"visa 4111 1111 1111 1111.", []string{"4111 1111 1111 1111"}},
		{"mc 5555-5555-5555-4444 amex 3782 822463 10005", []string{"5555-5555-5555-4444", "3782 822463 10005"}},
		{"bare 4012888888881881", []string{"4012888888881881"}},
		{"mc2 2221000000000009", []string{"2221000000000009"}},
		{"discover 6011111111111117", []string{"6011111111111117"}},
		// One digit wrong, wrong prefix, odd grouping, too long, in a word.
		{"4111 1111 1111 1112", nil},
		{"7111 1111 1111 1114", nil},
		{"41 11 11 11 11 11 11 11", nil},
		{"41111111111111111111111", nil},
		{"x4111111111111111 and 4111111111111111abc", nil},
		{"4111 1111-1111 1111", nil},
	})
}

func TestFindIBANs(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findIBANs, []detectorCase{
		{"IBAN DE89 3704 0044 0532 0130 00, thanks", []string{"DE89 3704 0044 0532 0130 00"}},
		{"GB29NWBK60161331926819", []string{"GB29NWBK60161331926819"}},
		{"fr14 2004 1010 0505 0001 3m02 606", []string{"fr14 2004 1010 0505 0001 3m02 606"}},
		{"NL91ABNA0417164300 and BE68539007547034", []string{"NL91ABNA0417164300", "BE68539007547034"}},
		{"ES9121000418450200051332", []string{"ES9121000418450200051332"}},
		// One digit wrong, wrong length, unknown country, glued to a word.
		{"DE89 3704 0044 0532 0130 01", nil},
		{"DE89370400440532013000123", nil},
		{"ZZ89370400440532013000", nil},
		{"xDE89370400440532013000", nil},
		{"DE89 37040 044 0532 0130 00", nil},
	})
}

func TestFindNationalIDs(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findNationalIDs, []detectorCase{
		{"SSN 123-45-6789 or 123 45 6789", []string{"123-45-6789", "123 45 6789"}},
		{"my social security number is 123456789", []string{"123456789"}},
		{"ssn: 078051120", []string{"078051120"}},
		{"CPF 123.456.789-09", []string{"123.456.789-09"}},
		{"cpf: 12345678909", []string{"12345678909"}},
		{"NI number AB 12 34 56 C or AB123456C", []string{"AB 12 34 56 C", "AB123456C"}},
		// Invalid areas, groups and serials; bare digits without a cue.
		{"000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000", nil},
		{"call 123456789", nil},
		{"123-45 6789", nil},
		{"CPF 123.456.789-08 and 111.111.111-11", nil},
		{"12345678909", nil},
		// HMRC prefix rules and suffix.
		{"DA123456C QQ123456C AO123456C GB123456A NK123456A ZZ123456D", nil},
		{"AB123456E AB12345C xAB123456C", nil},
	})
}

func TestFindAges(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findAges, []detectorCase{
		{"I'm 45 and new here", []string{"45"}},
		{"I am 17 years old.", []string{"17 years old"}},
		{"aged 63, retired", []string{"63"}},
		{"45 y/o teacher", []string{"45 y/o"}},
		{"I’m a 32-year-old nurse", []string{"32-year-old"}},
		{"my age is 40", []string{"40"}},
		{"I'm now 52!", []string{"52"}},
		{"at 52 I went back to school", []string{"52"}},
		{"I turned 30 last week", []string{"30"}}, // a birthday: an age, // "last" is not a follower
		{"I turned 30.", []string{"30"}},
		// Not ages.
		{"I'm 2 weeks behind", nil},
		{"I'm 100% sure", nil},
		{"aged cheese and 45 students", nil},
		{"the building is 45 years old", nil},
		{"I'm 3 lessons in", nil},
		{"at 12 I had lunch", nil},
		{"I'm 1.5 hours in", nil},
		{"page 45 and stage 12", nil},
		{"I am 45-50 minutes late", nil},
	})
}

func TestFindDatesOfBirth(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findDatesOfBirth, []detectorCase{
		{"I was born on 3 Feb 1990.", []string{"3 Feb 1990"}},
		{"born February 3, 1990 in Lagos", []string{"February 3, 1990"}},
		{"DOB: 1990-02-03", []string{"1990-02-03"}},
		{"date of birth 03/02/1990", []string{"03/02/1990"}},
		{"my birthday is 3.2.1990", []string{"3.2.1990"}},
		{"b. 12 March 1985", []string{"12 March 1985"}},
		{"born on the 3rd of February, 1990", []string{"3rd of February, 1990"}},
		{"my birthday is Feb. 3rd!", []string{"Feb. 3rd"}},
		// Dates without a birth cue, or cues without a date.
		{"due on 3 Feb 1990", nil},
		{"the deadline is 2024-03-01", nil},
		{"I was born in a small town, 20 years ago", nil},
		{"born on 31/31/1990", nil},
		{"DOB: 1990-02-03-04", nil},
	})
}

func TestFindPostalCodes(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findPostalCodes, []detectorCase{
		{"zip 90210, zip code: 10001-1234", []string{"90210", "10001-1234"}},
		{"postcode SW1A 1AA and post code M1 1AE", []string{"SW1A 1AA", "M1 1AE"}},
		{"postal code K1A 0B1", []string{"K1A 0B1"}},
		{"PLZ 10115, CEP 01310-100", []string{"10115", "01310-100"}},
		{"PIN code 110001 and pincode 110 001", []string{"110001", "110 001"}},
		{"postcode 1012 AB", []string{"1012 AB"}},
		{"〒100-0001", []string{"100-0001"}},
		{"my zip is 02139", []string{"02139"}},
		// No cue, or no code shape.
		{"in 90210 we trust", nil},
		{"zip 123", nil},
		{"pin 12.345", nil},
		{"zipped 90210 files", nil},
		{"the zip file has 123456789 bytes", nil},
	})
}
