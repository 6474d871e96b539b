// Command gencommon writes ../common.txt, the list of passwords the policy refuses
// (go generate ./internal/password). The list is made here, not copied: the words people
// build passwords from in Chinese and international leaks (the site's own name among
// them), with the digits, years and love numbers they append or prepend, keyboard walks
// and leet spellings. Shapes a rule catches for any length (one character, a short unit
// repeated, a straight run, a date) are left to password.Check.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// The site's name and the words a Renran reader would reach for.
var site = []string{"renran", "renranzixun", "renranzx", "zixun", "renrannet", "renrancom", "renranwang", "jianshu", "boke", "wenzhang", "xiezuo", "zuojia"}

// Words found again and again in the big Chinese leaks (CSDN, 12306, Tianya, 7k7k), in
// pinyin: love phrases, pet names, greetings, places, the word "password" itself.
var pinyin = []string{
	"woaini", "aini", "woaiwojia", "woshishui", "woaiwoziji", "wodemima", "mima", "mimamima", "zhimakaimen",
	"nihao", "nihaoma", "zaijian", "xiexie", "laopo", "laogong", "baobei", "baobao", "qinai", "qinaide",
	"xiaobao", "xiaoxiao", "tiantian", "yangyang", "feifei", "lele", "beibei", "dandan", "mingming", "jiajia",
	"qingqing", "tingting", "lili", "nana", "fangfang", "haha", "hehe", "xixi", "shuaige", "meinv", "dashuai",
	"aiqing", "xingfu", "kuaile", "pengyou", "yongyuan", "yibeizi", "yishengyishi", "tianshi", "xiaotianshi",
	"zhongguo", "china", "chinese", "beijing", "shanghai", "shenzhen", "guangzhou", "wuhan", "chengdu",
	"hangzhou", "nanjing", "tianjin", "xian", "chongqing", "changsha", "zhengzhou", "shenyang", "dalian",
	"xiazhili", "dearbook", "chinaren", "sohu", "sina", "renren", "kaixin", "baidu", "tencent", "taobao",
	"alipay", "zhifubao", "weixin", "wechat", "xiaomi", "huawei", "lianxiang", "yingxiong", "wangzhe",
	"caonima", "shabi", "niubi", "woqu", "dage", "xiongdi", "jiejie", "meimei", "gege", "didi", "mama", "baba",
}

// Chinese family names in pinyin, which people put before digits (wang123456).
var surnames = strings.Fields(`wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao zheng
liang xie song tang han feng deng cao peng zeng xiao tian dong pan yuan cai jiang yu du ye cheng wei su lu ding ren
shen yao jin fan fang shi zhong qian tan jia kong bai cui mao qiu qin jiang yin hou shao meng long wan duan lei qian
tang yan`)

// English words from the international leaks.
var english = strings.Fields(`password passwd pass admin administrator root user guest test qwerty welcome monkey
dragon master letmein football baseball basketball soccer hockey shadow sunshine princess superman batman spiderman
michael jordan hunter killer ranger tigger charlie buster harley starwars computer internet whatever jennifer
michelle freedom trustno iloveyou loveyou lovely love hello secret summer winter flower angel apple banana orange
chocolate cookie pokemon naruto onepiece liverpool chelsea arsenal barcelona samsung google windows iphone
mustang ferrari porsche yankees cowboys access matrix maggie ginger silver golden diamond hannah jessica ashley
daniel thomas robert andrew joshua matthew william jackson nicole amanda forever family friend friends happy
lucky goodluck money qazwsx zxcvbnm asdfgh abc abcd abcde login default changeme system server manager`)

// Keyboard walks and other shapes typed without thought.
var walks = strings.Fields(`qwertyui qwertyuiop asdfghjk asdfghjkl zxcvbnm zxcvbnm1 1qaz2wsx 1qaz2wsx3edc
qazwsxedc qazwsxedcrfv zaq12wsx 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 qweasdzxc qweasd123 1qazxsw2
2wsx3edc 3edc4rfv !qaz2wsx 1qaz@wsx qwer1234 1234qwer asdf1234 1234asdf zxcv1234 qwerasdf qwerasdfzxcv poiuytrewq
lkjhgfdsa mnbvcxz 123qweasd 123qweasdzxc qweqweqwe asdasdasd zxczxczxc 1a2b3c4d a1b2c3d4 a1s2d3f4 abcd1234
741852963 963852741 147258369 369258147 159357852 159753852 789456123 123654789 987456321 147852369 258369147
adgjmptw 31415926 3141592653 3.1415926 110110110 119119119 5201314520 1314520520 7758521521 5211314521 13145201314
11223344 112233445566 123321123 12344321 123456123 123123456 13145200 1314520521 52013145 77585210 a1234567
abc12345 abcd12345 abcdefg1 jordan23 p@ssw0rd p@ssword passw0rd qwe12345 rr123456 test12345 wangjing`)

// Digits people add to a word.
var digits = []string{"1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "0", "00", "000",
	"01", "11", "111", "1111", "22", "66", "666", "6666", "88", "888", "8888", "99", "999", "520", "521", "1314",
	"5201314", "1314520", "7758521", "110", "119", "007", "123123", "321", "654321", "147", "258", "369", "789",
	"!", "!@#", "@123", "#123", ".", "..", "_123", "2008", "2012", "2020"}

func main() {
	set := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(s)
		if n := len([]rune(s)); n >= 8 && n <= 64 {
			set[s] = true
		}
	}
	var years []string // birth years, which people append to a name or a word
	for y := 1970; y <= 2010; y++ {
		years = append(years, strconv.Itoa(y))
	}
	for _, w := range walks {
		add(w)
	}
	words := append(append(append([]string{}, site...), pinyin...), english...)
	for i, w := range words {
		add(w)
		add(w + w)
		chinese := i < len(site)+len(pinyin)
		for _, d := range digits {
			if chinese || len(d) <= 4 {
				add(w + d)
			}
		}
		for _, d := range []string{"123", "520", "1314", "5201314", "123456"} {
			add(d + w)
		}
		if chinese {
			for _, y := range years {
				add(w + y)
			}
		}
		if i < len(site) {
			for y := 2011; y <= 2030; y++ {
				add(w + strconv.Itoa(y))
			}
		}
		add(leet(w))
		add(leet(w) + "1")
		add(leet(w) + "123")
	}
	for _, s := range surnames {
		for _, d := range []string{"123", "1234", "12345", "123456", "12345678", "123456789", "520", "1314", "5201314", "888", "666", "8888"} {
			add(s + d)
		}
		add("woai" + s)
		add("woai" + s + "1314")
		add("woaini" + s)
	}
	for _, a := range []string{"a", "aa", "q", "qq", "qwe", "asd", "zxc", "abc", "wang", "li", "ww", "zz", "xx", "woaini", "iloveyou"} {
		for _, d := range []string{"123456", "12345678", "123456789", "1234567890", "5201314", "1314520", "7758521", "520520", "13141314", "147258369", "987654321", "654321"} {
			add(a + d)
			add(d + a)
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	var b strings.Builder
	b.WriteString("# Passwords the policy refuses, compared case-insensitively. Made by gencommon\n")
	b.WriteString("# (go generate ./internal/password): do not edit by hand. Shorter than 8 characters\n")
	b.WriteString("# fails the length rule anyway; single characters, repeats, runs and dates are rules.\n")
	for _, s := range out {
		b.WriteString(s + "\n")
	}
	if err := os.WriteFile("common.txt", []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("common.txt: %d passwords\n", len(out))
}

// leet spells a word the way people think is clever: p@ssw0rd.
func leet(w string) string {
	return strings.NewReplacer("a", "@", "o", "0", "i", "1", "e", "3", "s", "$").Replace(w)
}
