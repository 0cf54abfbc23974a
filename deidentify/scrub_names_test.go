package deidentify

import "testing"

func TestFindCuedNames(t *testing.T) {
	t.Parallel()
	runDetectorCases(t, findCuedNames, []detectorCase{
		{"Hi, my name is Zanele Mokoena and I teach", []string{"Zanele Mokoena"}},
		{"I'm Priya, from Pune", []string{"Priya"}},
		{"I am Oluwaseun Adeyemi.", []string{"Oluwaseun Adeyemi"}},
		{"Hi Tom, thanks", []string{"Tom"}},
		{"Hello Xiaoming!", []string{"Xiaoming"}},
		{"Hi Zanele, welcome", []string{"Zanele"}},
		{"Dear Dr. Okonkwo,", []string{"Okonkwo"}},
		{"Dear Grace", []string{"Grace"}},
		{"Thanks, Ana!", []string{"Ana"}},
		{"Thanks Bill for the tip", []string{"Bill"}},
		{"my friend Carlos said so", []string{"Carlos"}},
		{"ask Mark about it", []string{"Mark"}},
		{"Cheers,\nTom", []string{"Tom"}},
		{"Best,\nPriya Sharma", []string{"Priya Sharma"}},
		{"Kind regards,\nZbigniew Brzęczyszczykiewicz\n", []string{"Zbigniew Brzęczyszczykiewicz"}},
		{"see you!\n— Ana", []string{"Ana"}},
		{"my name is Ana de Souza.", []string{"Ana de Souza"}},
		{"I'm Jean-Luc's friend", []string{"Jean-Luc's"}},
		// Sign-offs inside a line, without a comma, or before more text.
		{"Ta, Oskar", []string{"Oskar"}},
		{"Best wishes, Ana. This took me ages.", []string{"Ana"}},
		{"it didn't arrive. Ta, Lucía.\n\nHope this helps.", []string{"Lucía"}},
		{"Sincerely,\nTom Bradley. I'm doing this course.", []string{"Tom Bradley"}},
		{"Good evening everyone. Warm regards\nPriyanka Kapoor", []string{"Priyanka Kapoor"}},
		{"please refund. — Mirela. This took me ages.", []string{"Mirela"}},
		{"Thanks a lot,\n— Rohan. I have one doubt.", []string{"Rohan"}},
		{"Hello Elif, Rohan here — we met in the live session.", []string{"Elif", "Rohan"}},
		// The look-ahead for "here" must not clobber the word it follows.
		{"Regards,\nLeilani KVikram here", []string{"Leilani KVikram"}},
		{"This is Declan Moloney, posting for my group.", []string{"Declan Moloney"}},
		{"My good name is Aisha Balogun, from the evening batch.", []string{"Aisha Balogun"}},
		{"with my cousin Imogen.", []string{"Imogen"}},
		// Words that are names only sometimes, and cues without a name.
		{"I will check in May.", nil},
		{"The grace period ends Friday.", nil},
		{"Bill of Rights", nil},
		{"Mark the answer as correct", nil},
		{"I'm Sure it works", nil},
		{"I'm Happy with it", nil},
		{"Hi All, Hello Everyone! Dear Sir, Thanks Again", nil},
		{"Hi My name", nil},
		{"ask Google", nil},
		{"Grace Hopper wrote it", nil},
		{"- Python\n- Java", nil},
		{"Thanks for the help", nil},
		{"Hello World program", nil},
		{"Team name: Outliers. Captain: Bob", nil},
		{"The file name is Report", nil},
		{"Thanks, Everyone. Best wishes, All.", nil},
		{"As Newton showed and as Keynes argued, from Paris to Rome.", nil},
		{"see the list. — Python. Then run it", nil},
		{"Python here, Java there", nil},
		{"run it with RAM and SEM", nil},
		{"All the best\nPython Tips and tricks", nil},
		{"The best\nNewton.", nil},
	})
}
