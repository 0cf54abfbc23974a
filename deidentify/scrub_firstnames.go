package deidentify

import "strings"

// firstNames are common given names across cultures, folded (lower case,
// no diacritics), for the PERSON cue detector: after a weak cue ("I'm",
// "ask") a capitalised word is a name only if it is one of these. The list
// is compact on purpose; a name missing from it is still found after a
// strong cue ("my name is", "Dear", a sign-off).
var firstNames = func() map[string]bool {
	m := make(map[string]bool, 1600)
	for _, w := range strings.Fields(firstNameList) {
		m[w] = true
	}
	return m
}()

const firstNameList = `
aaron abby abigail ada adam adrian adriana agnes aidan aiden alan albert alberto alex alexa
alexander alexandra alexis alfred alice alicia alison allan allison alma amanda amber amelia amy
andre andrea andrew andy angela angelica angie anita ann anna anne annie anthony antonio april
arthur ashley audrey austin ava barbara barry beatrice becky ben benjamin bernard beth betty beverly
bill billy blake bob bobby bonnie brad bradley brandon brenda brian bridget brittany brooke bruce
bryan caitlin caleb calvin cameron camila carl carla carlos carmen carol caroline carolyn carrie
casey catherine cathy charles charlie charlotte chelsea cheryl chloe chris christian christina
christine christopher cindy claire clara clarence claudia clifford colin connie connor craig crystal
curtis cynthia daisy dale dan dana daniel danielle danny darren dave david dawn dean debbie deborah
debra denise dennis derek diana diane dolores donald donna doris dorothy douglas dylan earl eddie
edgar edith edward eileen elaine eleanor elena eli elijah elizabeth ella ellen ellie elsie emily
emma eric erica erin ernest esther ethan eugene eva evan evelyn faith felicia fiona florence frances
francis frank franklin fred frederick gabriel gabriella gail gary gavin gene george georgia gerald
gina glen glenn gloria gordon grace graham grant greg gregory gwen hailey hannah harold harry harvey
hazel heather heidi helen henry herbert holly hope howard hunter ian irene isaac isabel isabella
isaiah ivan jack jackie jacob jacqueline jake james jamie jane janet janice jared jasmine jason jay
jean jeff jeffrey jenna jennifer jenny jeremy jerry jesse jessica jill jim jimmy joan joe joel john
johnny jon jonathan jordan joseph josh joshua joy joyce judith judy julia julian julie june justin
kaitlyn karen kate katherine kathleen kathryn kathy katie kayla keith kelly ken kenneth kevin kim
kimberly kirk kristen kyle larry laura lauren lawrence leah lee leo leon leonard leslie lewis liam
lillian lily linda lindsay lisa logan lois lori louis louise lucas lucy luke lydia lynn madison
maggie marcus margaret maria marie marilyn marion mark martha martin marvin mary mason matt matthew
maureen max megan melanie melissa melvin michael michelle mike mildred mitchell molly monica morgan
nancy naomi natalie nathan neil nicholas nick nicole noah norma norman olivia oliver oscar owen
paige pamela patricia patrick paul paula pauline peggy penny peter phil philip phillip phyllis
rachel ralph randy ray raymond rebecca regina renee rhonda richard rick rita rob robert roberta
robin rodney roger ron ronald rose ross roy ruby russell ruth ryan sabrina sally sam samantha samuel
sandra sara sarah scott sean seth shane shannon sharon shawn sheila shelby shirley sidney sophia
sophie stacy stanley stella stephanie stephen steve steven sue susan sydney sylvia tammy tanya tara
taylor ted teresa terry theodore theresa thomas tiffany tim timothy tina todd tom tommy tony tracy
travis troy tyler valerie vanessa vera veronica vicki victor victoria vincent violet virginia walter
wanda warren wayne wendy wesley will william willie wyatt zachary zoe aoife bronwyn cian ciara
ciaran dermot eamon eoin fergus finn niamh oisin padraig rhys rory seamus sinead siobhan aled angus
callum catriona eilidh euan fraser hamish iain isla kirsty lachlan mhairi morag alistair agustin
alejandra alejandro alonso alvaro amparo andres angel araceli ariana armando arturo beatriz benito
camilo carolina catalina cesar concepcion consuelo cristian cristina daniela diego eduardo elisa
elvira emilio enrique esperanza esteban estefania eugenia fabian facundo federico felipe fernanda
fernando francisca francisco gabriela gerardo gilberto gonzalo guadalupe guillermo gustavo hector
horacio hugo ignacio ines irma isidro jaime javier jesus jimena joaquin jorge jose josefina juan
juana julio leticia lorena lourdes lucia luis luisa lupe manuel manuela marcela marcelo marco marcos
margarita mariana mario marisol marta mateo mauricio mercedes miguel milagros mireya monserrat
natalia nicolas octavio pablo paola patricio paz pedro pilar rafael ramiro ramon raul refugio
ricardo roberto rocio rodrigo rogelio rolando rosa rosario ruben salvador santiago sebastian sergio
silvia sofia soledad tomas valentina valeria vicente ximena yolanda adriano alessandra alessandro
alessia angelo antonella bruno carlo chiara claudio cosimo davide domenico emanuele enrico enzo
fabio federica francesca franco giacomo gianluca gianni giorgia giorgio giovanna giovanni giulia
giuseppe giuseppina lorenzo luca luigi marcello massimo matteo mattia michele nicola paolo pietro
raffaele riccardo rocco salvatore silvio simona simone stefano tommaso vittoria vittorio amelie
antoine aurelie bastien benoit camille cecile celine christophe clement colette damien denis
dominique elodie emile etienne fabrice florian francois francoise frederic gaelle genevieve gerard
guillaume helene herve isabelle jacques jerome joelle julien laetitia laurent lea luc lucie manon
margaux marine mathieu maxime michel nathalie noemie olivier pascal pierre quentin remi renaud
sandrine sebastien serge solene stephane sylvie thibault thierry virginie yann yves andreas anke
annika axel birgit bjorn britta dieter dirk elke erik friedrich fritz gerhard gunter hannes hans
heike heinz helga helmut hendrik ingrid jannik jens jorg jurgen karin karl katja klaus lars lena
lukas manfred markus matthias monika niklas nils ola olaf oskar petra ralf rainer sabine silke soren
stefan sven thorsten tobias torsten ulrich ursula uwe volker werner wolfgang anders astrid freya
gunnar henrik ingvar johan kari kristian magnus mats nora oddny pernille rasmus sigrid signe solveig
tove trine ulf aleksandr aleksandra alexei alina alla anastasia andrei anton anya artem boris bogdan
daria dmitri dmitry egor ekaterina evgeny galina georgi grigory igor ilya inna irina ivana katya
kirill konstantin ksenia larisa lev lyudmila maksim marina maxim mikhail nadia nadezhda natasha
nikita nikolai oksana oleg olga pavel polina roman ruslan sasha sergei sergey sofiya stanislav
svetlana taras tatiana timur vadim valery vasily viktor vladimir vladislav yana yaroslav yulia yuri
zoya agnieszka bartosz dorota ewa grzegorz jakub jan janusz joanna kasia katarzyna krzysztof lukasz
magdalena malgorzata marek mateusz michal pawel piotr tomasz wojciech zofia jiri petr tereza ondrej
milan dusan goran jelena marko milos nikola zoran dragan ana mirela luka matej wei wang li zhang liu
chen yang huang zhao wu zhou xu zhu hu guo lin gao luo zheng liang xie song tang han feng deng cao
peng zeng xiao tian dong pan yuan cai jiang cheng wen ling jun jie hao hui ming hong jing lei lan
mei ning ping qiang qing rui tao ting xia xin xiu yan ying yong yun zhen zhi zhong bin chao fang fei
gang hua jian jin kai kang min shan shu tong xiang xiaoming xiaoli xiaoyan yifan yiming yuxuan zihan
haoran zixuan yuhan junjie jiahao wenjie lijun weiwei jiayi xinyi hiroshi hiroko takashi takeshi
kenji kenta haruto yuto sota riku ren hinata yui yuna aoi sakura hana yuki yuko yumi akiko keiko
naoko tomoko michiko kazuki daiki shota ryota yusuke kaito haruka misaki ayaka nanami natsuki akira
satoshi makoto hideki taro jiro ichiro kaori emi mai rin sora minjun seojun jiho jihoon minseo
seoyeon jiwoo hyun jisoo jiyeon yejin soyeon eunji jimin taehyung jungkook seokjin namjoon hoseok
sunghoon dongwook kyung sungmin young jae hyejin aarav aarti abhay abhishek aditi aditya ajay akash
akshay alok aman amit amita amrita ananya anand anil anjali ankit ankita anup anupam anushka arjun
arun aruna ashish ashok avinash ayush bhavna deepa deepak deepika dev devi dhruv divya gaurav geeta
girish gopal govind harish harsh harsha hemant indira ishaan isha jaya jyoti kajal kamal karan
kavita kavya kiran krishna kumar lakshmi lalit madhu mahesh manish manoj meena meera mohan mukesh
nandini naresh naveen neha nikhil nisha nitin pallavi pankaj pooja pradeep prakash pranav prasad
prashant pratik preeti prem priya priyanka rahul raj raja rajesh rajiv rakesh ram ramesh ravi rekha
rishi rohan rohit ruchi sachin sagar sahil sameer sandeep sanjay sanjana santosh sapna sarita
saurabh shalini shankar shilpa shiva shreya shruti shubham siddharth simran sneha sonal sonia
srinivas suman sumit sunil sunita suresh swati tanvi tarun uma usha varun vidya vijay vikas vikram
vinay vinod vishal vivek yash yogesh arvind lakshman murali venkat karthik senthil selvi balaji
gurpreet harpreet jaspreet manpreet navjot amrit baljit aaliyah abdallah abdel abdul abdullah
abdulrahman adel adnan ahmad ahmed aisha ali alia amal amani amina amir amira amr anas asma ayman
aziz bashir bilal dalia dina ehab fadi fahad faisal farah farid fatima fatma habib hadi hala hamza
hani hasan hassan hatem haya hiba hind hussein ibrahim imad iman isa ismail jamal jamila karim
khadija khalid khaled laila layla leila lina mahmoud majid malak malik mariam maryam mohamed
mohammad mohammed mona mostafa mustafa nabil nadir naji nasser nour nur omar osama rami rania rashid
reem rima saad sabah salah saleh salim salma sami samir samira sayed shadi sharif tamer tarek tariq
walid yara yasmin yasmine yousef youssef yusuf zain zainab zaid ziad zeynep mehmet emre burak murat
ayse elif fatih hakan kemal mert ozge selin serkan yasin arash darius farhad mahsa navid parisa reza
shirin abeni abiodun abimbola ade adebayo adeola adewale adaeze adaora amaka ayo ayodele babajide
bola bukola chidi chidinma chiamaka chinedu chinonso chioma chukwuemeka damilola ebere ebuka emeka
femi folake funmi funke gbenga ifeoma ijeoma ikechukwu kayode kehinde kunle ngozi nkechi nnamdi
obinna oluwadamilare oluwafemi oluwaseun olumide olusegun seun segun taiwo temitope tobi tolu tunde
uche uchenna yemi yetunde abena adjoa afia akosua akua ama kofi kojo kwabena kwadwo kwaku kwame
kwesi yaw yaa esi efua ekow nana baraka jabari juma kamau wanjiru wanjiku njeri otieno akinyi atieno
wambui mwangi kipchoge zawadi zuri neema rehema imani thabo thandiwe themba sipho lindiwe nomvula
zanele bongani lerato palesa tshepo mandla sibusiso nokuthula ayanda kagiso tendai tatenda farai
chipo tafadzwa rudo tinashe amadou aminata fatou mamadou moussa ousmane awa binta ibrahima abdoulaye
joao paulo luiz raimundo manoel mateus leonardo guilherme leandro tiago anderson marcio alexandre
sebastiao thiago vitor caio renato davi heitor bernardo matheus aline andreia bruna cristiane
juliana luana luciana marcia rafaela raquel renata tatiane vitoria larissa thais conceicao graca
joana goncalo diogo nuno duarte nguyen anh bao binh chau chi cuong dung duc giang hanh hieu hoa
hoang hung huong huy khanh khoa linh minh nam ngoc nhung phong phuong quan quang quynh tam thanh
thao thu thuy tien trang trinh trung tuan tuyet viet vinh vy xuan yen somchai somsak siriporn malee
nattapong kittisak ploy arief budi dewi eko indah joko putri rina sari siti wahyu yudi agus bambang
rizky fajar nurul farhan hafiz haziq syafiq aiman aqil
declan imogen jasper rupert felix otis archie alfie freddie theo toby reggie arlo ezra milo jude
rowan ronan conor cormac darragh saoirse orla grainne maeve clodagh roisin aisling caoimhe eimear
deirdre brendan colm fionn tadhg killian cillian keira kiera tamsin phoebe harriet beatrix matilda
isobel rosalind georgina henrietta philippa rosamund octavia
gwendolyn gwyneth bethan cerys carys ffion emrys gareth geraint ieuan owain osian huw dafydd
rhiannon seren eleri angharad morwenna ewan alasdair ruaridh ailsa shona fenella innes lorna moira
elspeth jessie brayden jayden kayden madeline madeleine brianna mackenzie kaylee addison avery quinn
riley peyton hadley delaney sienna skylar aubrey everett dominic colton easton tristan damian
leilani kalani keanu malia makoa noelani kailani moana mele sione tevita aroha hemi wiremu rangi
manaia farida valentin emiliano leonel lisandro matias agustina florencia julieta luciano
maximiliano ignacia constanza antonia vasco afonso leonor madalena mafalda catarina filipa moritz
jonas emil elias emilia mila greta frieda marlene lotte johanna hanna leonie pia jana
maja merle wiebke bernd rolf detlef holger jochen joachim reinhard
rudiger henning ole malte jannis daan lieke sanne femke maarten pieter joost willem bram thijs
jeroen anouk marieke stijn koen wouter geert freja ebba elsa linnea wilma liv viggo sigurd haakon
eirik ragnar leif stig asa britt inger birgitta kerstin marit hege zuzanna wiktoria oliwia szymon
kacper filip wiktor dawid kamil przemyslaw radek lenka milena zdenek vaclav jaroslav miroslav bozena
dragana vesna snezana aleksandar nenad bojan darko ivica tomislav ante josip mateja nina sanja dasha
masha misha kolya vanya alyona yelena yevgeny arkady gennady leonid zhanna veronika giorgos dimitris
nikos yannis kostas eleni katerina despina panagiotis vasilis christos stavros theodora
konstantinos spyros evangelia ioanna angeliki ahmet emine hatice esra merve busra gizem deniz cem
onur oguz baris tolga volkan serdar cengiz ozan umut ceren ebru derya sibel pinar tugba kian
mehdi hossein amin babak behnaz golnaz laleh nazanin roya soraya yasaman arman kaveh omid pouya sina
huda noor latifa basma ghada lubna manal maha nawal rasha sahar suad wafa zahra zeina hamid hussain
jamil kareem marwan munir rashad riad samer tawfiq wael yahya younes ziyad anwar bassam ghassan
hisham issa jaber mazen nizar qasim talal usama waleed zaki abdulaziz chinwe nneka obiageli
oluwatobi oluwaseyi adebola temidayo toyin yewande olamide abiola folasade morenike titilayo dapo
jide niyi wale tayo bisi sade kemi lola wunmi amara halima hauwa musa sani usman yakubu adwoa afua
ekua lwazi sizwe lebo nandi nomsa ntombi zodwa busisiwe nolwazi thulani siyabonga dumisani nhlanhla
xolani tumelo refilwe dineo kgomotso naledi njoki wairimu achieng adhiambo awino odhiambo ochieng
omondi chebet mutua makena muthoni wangari faraja furaha zuberi abebe almaz dawit tigist tsion yonas
selam meron biniam yohannes bereket mekdes hiwot senait tesfaye fatoumata aissatou mariama
kadiatou oumar cheikh ndeye seydou boubacar lamine aliou djibril souleymane sekou adama kouame koffi
arnav advait vihaan reyansh kabir aryan ayaan krish rudra shaurya atharv anika aadhya diya kiara
myra navya saanvi riya ria rhea radhika rashmi rupa sangeeta savita seema shanti shobha smita sudha
sushma vandana varsha vineeta yamini padma nirmala kamala latha lalitha revathi saranya keerthi
harini janani kavitha meenakshi nithya sowmya swetha aishwarya anusha bhavya chaitra deepthi
gayathri hema jayanthi lavanya manjula pavithra ramya roopa sandhya shwetha vani ashwin bharath
dinesh ganesh gautam hari jagdish jayesh kartik kishore mohit mukund nilesh paresh pramod raghav
rajan rajat ranjit ritesh sanjeev shashank shyam sudhir sumeet tushar umesh vaibhav vineet vipin
yuvraj zubin anirudh abhinav akhil amol aniket anurag devansh hardik hitesh jatin kunal lokesh
mayank nakul nishant piyush pulkit rachit ritik sarthak tanmay utkarsh imran irfan salman shahid
shoaib tanvir arif asif junaid kashif nadeem naveed rizwan sajid shahzad tahir waqar yasir zubair
ayesha fariha hina mahnoor nida rabia sadia saima sana shazia sidra uzma rahim nusrat tasnim
farzana sultana rafiq shafiq sabbir nayeem dilshan kasun nuwan chamari tharindu sanduni nimal bishnu
sushil binod sabina xiaohong zhiwei jianguo guoqiang haoyu yuhang zhiyuan jiawei xinyu yutong ruoxi
shiyu yiran zhihao boyang chenxi mingyu wenhao yixuan zihao ziyi yuqi siyu xiaoyu tianyi yichen yoko
yoshiko daisuke takumi yuma shun kenichi koji masato naoki ryo shinji tatsuya tetsuya tomoya yuji
yuya hikaru asuka ayumi chihiro eri erika kyoko mayumi megumi miho mika miki mio nozomi rie
risa saki sayaka shiori yukiko momoko noriko sachiko junko hiromi kumiko masako reiko tomomi yuka
aiko ayane hinako koharu mitsuki tsubasa yamato sosuke minato itsuki hayato hiroto takeru kazuya
kohei ryosuke shintaro kentaro yuichi masaki hideo kazuo tadashi osamu shigeru susumu isamu kiyoshi
minoru minji seojin eunbi hayoon jiyoon dahyun yerin chaewon subin haeun dohyun siwoo junwoo hyunwoo
jihun minho jinwoo seungmin sangwoo taeyang youngho kyungsoo jaehyun woojin sujin minjeong seulgi
huyen hien loan oanh phuc thang thinh toan luan nhan nhi thien truong uyen vuong maricel marites
jocelyn rowena analyn jomar jericho rodel ramil arnel edgardo teodoro dian fitri ratna wulan ayu
intan lestari rahmat hendra irwan andi dimas galih teguh bayu aisyah syafiqah amirah hakim danial
izzat luqman syahmi zulkifli anong araya kanya kittipong malai narong niran pichit pimchanok prasert
preecha rattana sakda sunee supachai surachai thanawat wanida wichai yupin apinya brayan yesenia
yadira maribel marisela nayeli xochitl citlali itzel juanita lupita perla rosalia salome susana
wilmer yeison jhon edwin jairo jhonatan leidy dayana avi avraham yosef moshe yael noa tamar
shira orly eitan ariel itai yonatan shai liat rivka chaya yehuda shlomo ziv inbal hila
efrat ronit yoni boaz dov avigail hadas keren merav sigal tali yifat
`
