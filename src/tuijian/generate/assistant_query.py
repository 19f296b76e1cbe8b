"""What a shopper's message asks, read from its words (English and Chinese), before any catalogue look-up.

:func:`read_message` finds the price range ("between £5 and £20", "不要超过8英镑", "20英镑以内"), the sort order
("cheapest", 最便宜), a relative price ("any cheaper?", 更便宜), the fact asked about ("how many in the pack?",
"is it waterproof?", 多少钱), the policy intent ("can I send it back?" is returns, "under 10 pounds" is not
payment), references to earlier items ("it", 那个, "the second one") and the negated spans ("nothing with
skulls", 不要骷髅). What is left, the :attr:`Message.positive` and :attr:`Message.negative` text, is matched
against the catalogue by :mod:`tuijian.generate.assistant_catalog`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CUR = r"(?:£|\$|€|¥|gbp\s*)"
_NUM = r"(\d+(?:\.\d+)?)"
_UNIT = r"(?:\s*(?:pounds?|quid|gbp|dollars?|euros?|英镑|镑|元|块钱|块|磅))"
_ZH_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_NUMBER = re.compile(
    r"[零一二两三四五六七八九十百千]+(?=\s*(?:英镑|镑|便士|元|块|磅|岁|个|件|只|片|张|支|以内|以上|以下))|"
    r"[零一二两三四五六七八九十百千]+(?=\s*(?:到|至)\s*[零一二两三四五六七八九十百千\d.]+\s*(?:英镑|镑|元|块|磅))"
)

#: English number words before a money or pack word ("under six quid", "between two and five pounds", "twenty
#: five pounds"), turned into digits like the Chinese numerals.
_EN_UNITS = {
    w: n
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
} | {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_EN_WORD = "|".join(sorted(_EN_UNITS, key=len, reverse=True))
_EN_NUMBER = re.compile(
    rf"\b({_EN_WORD})(?:[- ]({'|'.join(w for w in _EN_UNITS if 0 < _EN_UNITS[w] < 10)}))?\b"
    rf"(?=(?:\s+(?:and|to|or)\s+(?:(?:{_EN_WORD})(?:[- ]\w+)?|\d+(?:\.\d+)?))?\s*"
    r"(?:pounds?|quid|euros?|dollars?|pence|p\b|quid))"
)

# Comparison words, negated forms first (they are replaced by one operator token before numbers are read).
_MAX_WORDS = (
    r"不要超过|不能超过|别超过|不超过|不要高于|不高于|不要多于|no more than|not more than|not over|no higher than|"
    r"no (?:dearer|pricier|more expensive|costlier) than|not (?:dearer|pricier|more expensive) than|"
    r"not above|nothing over|nothing above|under|below|less than|cheaper than|up to|at most|max(?:imum)?|within|"
    r"budget(?: of| is)?|低于|少于|不到|最多|预算|<=?"
)
_MIN_WORDS = (
    r"不要低于|不低于|不少于|不能低于|no less than|not less than|not under|nothing under|nothing below|at least|"
    r"no (?:cheaper|lower) than|not cheaper than|dearer than|costlier than|"
    r"over|above|more than|pricier than|more expensive than|min(?:imum)?|超过|高于|多于|至少|>=?"
)
_OPS = re.compile(rf"({_MAX_WORDS})|({_MIN_WORDS})")
_BETWEEN = [
    re.compile(rf"between\s*{_CUR}?\s*{_NUM}{_UNIT}?\s*(?:and|&|-|to)\s*{_CUR}?\s*{_NUM}{_UNIT}?"),
    re.compile(rf"from\s*{_CUR}?\s*{_NUM}{_UNIT}?\s*to\s*{_CUR}?\s*{_NUM}{_UNIT}?"),
    re.compile(rf"{_CUR}\s*{_NUM}\s*(?:-|–|to)\s*{_CUR}?\s*{_NUM}{_UNIT}?"),
    re.compile(rf"{_NUM}\s*(?:-|–|to)\s*{_NUM}{_UNIT}"),
    re.compile(
        rf"(?:在|介于)?\s*{_CUR}?\s*{_NUM}{_UNIT}?\s*(?:到|至|和|-|~|～)\s*{_CUR}?\s*{_NUM}{_UNIT}?\s*(?:之间|以内|之内)"
    ),
    re.compile(rf"{_CUR}?\s*{_NUM}{_UNIT}?\s*(?:到|至)\s*{_CUR}?\s*{_NUM}{_UNIT}"),
]
_AROUND = re.compile(
    rf"(?:around|about|roughly|approximately|大概|大约|差不多)\s*{_CUR}?\s*{_NUM}{_UNIT}?|{_CUR}?\s*{_NUM}{_UNIT}\s*左右"
)
_AGE = re.compile(r"(\d+)\s*-?\s*(?:years?|yrs?)[\s-]*old|(\d+)\s*岁")
#: A pack size named as part of an item's name: "box of 24", "set of 2", "12 pack", 24个装, 6只装, 12片一包.
_PACK = re.compile(
    r"\b(?:pack|box|set|bag|packet|tin|tube|pot|roll|card|sheet|bundle|strand)s? of (\d+)\b|\b(\d+)[- ]?(?:pack|piece|pc)s?\b|"
    r"(\d+)\s*[个只件片张支根枚条块]?(?:装|一套|一包|一盒|一袋|一组)"
)
#: A refused pack size ("not the sets of three", 不要三件套的): the pack phrases above, number words, N件套.
_PACK_REFUSED = re.compile(
    rf"{_PACK.pattern}|\b(?:pack|box|set|bag|packet|tin|tube|pot|roll|bundle)s? of ({_EN_WORD})\b|"
    r"(\d+)\s*(?:件套|只套|个一套|件一套)"
)


def refused_pack(text: str) -> int | None:
    """The pack size a refused part of a message names ("sets of three", "packs of 6", 3件套), if any."""
    m = _PACK_REFUSED.search(text)
    if m is None:
        return None
    digits = next((g for g in m.groups() if g and g.isdigit()), None)
    if digits is not None:
        return int(digits)
    word = next((g for g in m.groups() if g), "")
    return _EN_UNITS.get(word) or None


_ITEM_ID = re.compile(r"(?<![A-Za-z0-9])(\d{5}[A-Za-z]{0,2}|B0[0-9A-Z]{8})(?![A-Za-z0-9])")
_SORT_ASC = re.compile(
    r"cheapest|least expensive|costs? (?:the )?least|costing (?:the )?least|lowest[- ]pric\w*|lowest price|most affordable|最便宜|最实惠|价格最低|最低价|最划算|"
    # an order by price, low to high unless said otherwise ("sort them by price", "in price order", 按价格排序)
    r"\bby price\b|"
    r"\bin (?:price|cost) order\b|\bprice[- ]ordered\b|\blow(?:est)? to high(?:est)?\b|按价格(?:排序|排列|从低到高|由低到高|升序)?(?!从高到低|由高到低|降序)|价格从低到高|从便宜到贵"
)
_SORT_DESC = re.compile(
    r"most expensive|priciest|dearest|costs? (?:the )?most|costing (?:the )?most|highest[- ]pric\w*|most costly|最贵|价格最高|最高价|"
    r"\bhigh(?:est)? to low(?:est)?\b|\b(?:most expensive|dearest|priciest) first\b|(?:按价格|价格)(?:从高到低|由高到低|降序)|从贵到便宜"
)
_DESC_ORDER = re.compile(
    r"\bhigh(?:est)? to low|\b(?:most expensive|dearest|priciest|highest[- ]priced?) first\b|从高到低|由高到低|降序|从贵到便宜"
)
_CHEAPER = re.compile(
    r"哪个(?:更|比较)?便宜|which (?:one )?is cheap|\bcheaper\b|less expensive|lower price|more affordable|"
    r"更便宜|便宜一?点|便宜些|再便宜|更实惠"
)
_DEARER = re.compile(
    r"哪个(?:更|比较)?贵|which (?:one )?is (?:dear|expensive)|more expensive|\bpricier\b|\bdearer\b|更贵|贵一?点|贵些|更高档"
)
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2, "3rd": 3,
    "第一": 1, "第二": 2, "第三": 3, "第四": 4, "第五": 5, "第1": 1, "第2": 2, "第3": 3,
}  # fmt: skip
_ORDINAL = re.compile(
    r"\b(first|second|third|fourth|fifth|1st|2nd|3rd)\b(?: one| item)?|(第[一二三四五123])[个件款]?"
)
_PRONOUN = re.compile(
    r"\b(it|its|it's|this one|that one|this item|that item|they|them|these|those|the same)\b|那个|这个|它|那款|这款|那件|这件|此款|该商品"
)
_FOLLOW = re.compile(
    r"^\s*(?:and|what about|how about|any|anything|in|with|without|also|only|same|but|or|show me)\b|"
    r"呢[？?。!！]*\s*$|^\s*(?:那|还有|有没有|换成|要|只要)"
)
_SEARCH = re.compile(
    r"^\s*(?:有|还有|请问有)(?!没有).*吗|\b(?:do you (?:have|sell|stock|carry|do)|have you got|are there|is there|i(?:'m| am) looking for|looking for|"
    r"i want|i need|show me|recommend|suggest|find me|can i get|do you do|got any|any)\b|有没有|你们有|有卖|卖不卖|想要|想买|推荐|找一?[个些款]|"
    r"给我看|有吗[？?。!！]*\s*$|有卖吗|来[个一][个件只款]?"
)
_YES_NO = re.compile(
    r"^\s*(?:is|are|does|do|can|will|has|have|would|could)\b|吗[？?。!！]*\s*$|是不是|是否|能不能|可不可以|会不会"
)

#: The noun counted at the end of a Chinese "how many" question (…有几只兔子), and the words that name no item.
_COUNTED_ZH = re.compile(r"(?:几|多少)[个件只片张支根枚条块本对双]([\u4e00-\u9fff]{1,5})[？?。!！\s]*$")
_COUNT_FILLER_ZH = re.compile(r"[^\u4e00-\u9fff]|[里中有一每套包盒袋这那个它款件总共]")

#: ``(attribute, pattern)`` in the order they are tried; the first that matches is the fact asked about.
_ATTRIBUTES: list[tuple[str, re.Pattern[str]]] = [
    ("size", re.compile(r"how many (?:sheets|pages)|sheet capacity|(?:能|可以)?[碎装]?几张纸|多少页")),
    (
        "pack_count",
        re.compile(
            r"[一每][包套盒袋箱][里中]?有?(?:几|多少)[个件只片张支根枚条]?|how many|pieces? (?:are )?in|in (?:the|a|each|one) (?:pack|set|box|bag|packet)|per pack|pack size|"
            r"几个|多少个|几件|多少件|几只|多少只|几片|多少片|几支|多少支|几张|多少张|几根|多少根|一套几|一包几|几枚|多少枚|几条"
        ),
    ),
    (
        "price",
        re.compile(
            r"how much|what(?:'s| is) the price|\b(?:go|goes|sell|sells|retail|retails) for(?=\s*[?.!]*\s*$)|price of|the price|\bcosts?\b|how expensive|what does it cost|\bprice(?: please| pls)?\s*\??\s*$|^\s*price (?:for|of|on)\b|"
            r"多少钱(?:一[包套盒个件只])?|价格|价钱|几块钱|售价|什么价|卖多少|[怎咋]么?卖|贵不贵"
        ),
    ),
    (
        "material",
        re.compile(
            r"made (?:of|from|out of)|\bmaterial\b|what is it made|什么材质|材质|材料|什么做的|用什么做|做的(?=吗|\?|？|$)"
        ),
    ),
    ("colour", re.compile(r"what colou?rs?|which colou?rs?|\bcolou?rs?\b|什么颜色|啥颜色|哪种颜色|颜色")),
    (
        "size",
        re.compile(
            r"how big|what size|which size|\bdimensions?\b|how large|how tall|how long|\bsize\b|capacity|how small|"
            r"\b(?:large|big|small|little) or (?:large|big|small|little)\b|\bmeasurements?\b|how (?:wide|deep|high)\b|"
            r"多大|尺寸|大小|多高|多长|多宽|容量|尺码|[大小][号码个的]?还是[大小][号码个的]?"
        ),
    ),
    (
        "theme",
        re.compile(
            r"what (?:design|pattern|motif|print|theme)|which (?:design|pattern)|什么图案|什么花纹|图案是"
        ),
    ),
    (
        "audience",
        re.compile(
            r"suitable for|(?:is|are) (?:it|they|this|that) for|good for (?:a )?|"
            r"\b(?:meant|intended|designed|aimed|made|okay|ok|safe|appropriate|right) (?:for|at) (?:kids|children|a child|"
            r"toddlers|babies|a baby|adults|grown ?ups|boys|girls|teens|teenagers|little ones|under|ages?)\b|"
            r"\bwho(?:'s| is| are)(?= (?:it|they|this|that|these|those|the [a-z' ]+?) (?:for|aimed at|meant for)\b)|"
            r"\b(?:can|could|may) (?:kids|children|a child|toddlers|babies|a baby|adults) (?:use|play with|have)\b|"
            r"(?:小孩|孩子|儿童|宝宝|小朋友)(?:能|可以)(?:用|玩)|适合|给孩子用|适用|(?:是给|给|供)?(?:小孩|孩子|儿童|宝宝|小朋友|大人|成人)(?:用|玩)的?(?:吗|嘛|么)"
        ),
    ),
    (
        "type",
        re.compile(
            r"what is (?:it|this|that)\b|what kind of (?:thing|product)|what type of product|这是什么|是什么东西"
        ),
    ),
]
#: Yes/no properties the catalogue rarely states: answered from the item's words, else "I don't know".
PROPERTIES: dict[str, tuple[re.Pattern[str], tuple[str, ...], str]] = {
    "waterproof": (
        re.compile(
            r"water[- ]?proof|water[- ]resistant|(?:in|survive|withstand|stand) the rain|get wet|防水|淋雨|怕水"
        ),
        ("waterproof", "water resistant"),
        "防水",
    ),
    "dishwasher safe": (re.compile(r"dishwasher(?:[- ]safe)?|洗碗机"), ("dishwasher",), "可用洗碗机清洗"),
    "microwave safe": (re.compile(r"microwave(?:[- ]safe)?|微波炉"), ("microwave",), "可用微波炉"),
    "batteries": (re.compile(r"batter(?:y|ies)|电池"), ("battery", "batteries"), "需要电池"),
    "washable": (
        re.compile(
            r"washable|(?:machine|hand)[- ]?wash|washing machine|\b(?:be|get|been) washed\b|"
            r"\b(?:can|could|should|may) (?:i|you|we) (?:\w+ )?wash\b|\bwash (?:it|them|this|these|those)\b|"
            r"\b(?:ok|okay|safe|fine|alright) to wash\b|\bgo (?:in|into) the wash\b|"
            r"可以洗|能洗|机洗|水洗|手洗|能不能洗|可不可以洗|洗吗|清洗吗|可水洗"
        ),
        ("washable",),
        "可水洗",
    ),
    "handmade": (
        re.compile(r"hand[- ]?made|hand[- ]?crafted|made by hand|手工|手作"),
        ("handmade", "hand made"),
        "手工制作",
    ),
    "in stock": (re.compile(r"in stock|available now|有货|现货|库存"), (), "有货"),
    "food safe": (re.compile(r"food[- ]safe|food grade|食品级"), ("food safe",), "食品级"),
    "scented": (
        re.compile(r"scented|fragrance|smell|香味|有香|有味道|气味"),
        ("scented", "fragrance", "fragranced"),
        "带香味",
    ),
    "weight": (re.compile(r"how heavy|\bweigh(?:s|t|ts|ing)?\b|多重|重量"), (), "重量"),
    "age": (re.compile(r"what age|how old|几岁|多大年龄"), (), "适用年龄"),
    "warranty": (re.compile(r"warranty|guarantee|保修|质保"), (), "保修"),
}

#: Places a parcel is sent to (能发美国吗, 可以寄到香港吗): a country or region, or a word for abroad.
_PLACES_ZH = (
    r"[\u4e00-\u9fff]{0,3}(?:国|洲)(?!\w*(?:风|图案|款))|国外|海外|境外|外地|日本|澳大利亚|澳洲|加拿大|新加坡|意大利|西班牙|"
    r"荷兰|瑞士|瑞典|挪威|丹麦|芬兰|比利时|爱尔兰|新西兰|香港|澳门|台湾|俄罗斯|印度|巴西|墨西哥|迪拜|马来西亚|越南"
)

#: Days and dates an order is wanted by ("by Friday", "before Christmas", "in time for the weekend").
_TIMES_EN = (
    r"(?:this |next |the )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|week|christmas|"
    r"easter|tomorrow|tonight|end of (?:the )?(?:week|month)|\d{1,2}(?:st|nd|rd|th)?)"
)
#: Days an order is wanted by in Chinese (明天, 下周三, 周末, 圣诞节, 15号).
_TIMES_ZH = (
    r"今天|明天|后天|今晚|明早|(?:这|本|下)?(?:周|星期|礼拜)[一二三四五六日天末]|周末|下周|这周|本周|月底|"
    r"圣诞节?|新年|春节|\d{1,2}(?:号|日)"
)
#: Places a parcel is sent to in English: countries, nations, islands and cities outside the shop's own town (a
#: place is a name, so the shopper's own words rarely make one: "to my mum" is no place).
_PLACES_EN = (
    r"(?:the )?(?:isle of \w+|channel islands|highlands|(?:northern |southern )?(?:ireland|england|scotland|wales)|"
    r"france|germany|spain|italy|europe|eu|usa|us|america|the states|canada|australia|new zealand|japan|china|"
    r"hong kong|singapore|india|abroad|overseas|dublin|belfast|paris|berlin|madrid|rome|amsterdam|brussels|"
    r"new york|edinburgh|glasgow|cardiff|jersey|guernsey|shetland|orkney|the uk|uk|britain|great britain|"
    r"[a-z]+ (?:island|islands)|another country|my country|outside (?:the )?uk)"
)

#: the end of a clause (a comma or a full stop, "but", "so") and the start of one that asks a question
_CLAUSE_END = re.compile(r"[,;.!?，。；！？]\s*|\s(?:but|so|and)\s")
_ASKS = re.compile(
    r"\s*(?:how|what|who|where|when|which|can|could|do|does|is|are|will|would|should|may|怎么|如何|找谁|哪里|能不能|可以)"
)

#: A delivery verb, then "to" and a capitalised name not at the start of the message: a place an order goes to.
_NAMED_PLACE = re.compile(
    r"(?:\b(?:[Ss]end|[Ss]hip|[Pp]ost|[Dd]eliver)\w*|\b[Gg]et (?:it|them|this|these|the|my|our|a|an)\b)[\w' -]{0,40}?\bto\s+"
    r"(?:the\s+)?(?:[A-Z][a-z]{2,})(?:\s+[A-Z][a-z]+)*\b"
)

#: Policy intents: each policy id with the phrasings that ask about it (not single shared words like "pounds").
POLICY_INTENTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "policy:returns",
        re.compile(
            r"\breturn(?:s|ed|ing)?\b(?! (?:to|from) )|refund|(?:send|take|bring|give) (?:\w+ ){0,3}back\b|exchange(?! rates?\b)|money back|"
            r"\b(?:if|in case) (?:i|we|he|she|they|my \w+) (?:don't|do not|doesn't|does not|didn't) (?:like|want|fit)|"
            r"changed? my mind|\b(?:ordered|bought|got|sent|received) (?:me )?the wrong (?:one|thing|item|product|model|version|design|colou?r|size)\b|"
            r"\b(?:don't|do not|no longer|dont) (?:want|need) (?:it|them|this|these|the \w+)(?: any ?more)\b|"
            r"发错|寄错|错发|(?:颜色|尺寸|尺码|款式|数量)不对|"
            r"\bswap (?:it|them|this|the \w+|my \w+)\b|wrong (?:item|size|colou?r)|(?:arriv\w*|came|comes|is|was|got here) (?:broken|damaged|faulty|cracked|smashed|crushed|dented|squashed)|"
            r"\b(?:broken|damaged|faulty|defective|cracked|smashed|crushed|dented|squashed|bent|torn|ripped|"
            r"scratched|chipped|creased|snapped|shattered|leaking|leaky|stained|warped)\b|"
            r"\b(?:arriv\w*|came|turned up|delivered) in (?:pieces|bits)\b|"
            r"\b(?:missing (?:a |some |the )?(?:parts?|pieces?|bits?)|(?:does not|doesn't|didn't|did not|won't) work|"
            r"not working|stopped working|(?:get|send me|have) (?:a )?(?:replacement|new one)|replace (?:it|them|the \w+))\b|"
            r"退货|退款|退换|换货|退钱|退回|不满意|七天无理由|能换吗|可以换吗|买错|[能可]以?退|还能退|退吗|坏的|坏了|破损|损坏|碎了|是碎的|压坏|压扁|换个颜色|换个尺寸|换一个|质量问题|"
            r"折了|弯了|裂了|裂开|裂缝|裂痕|缺口|坏掉|断了|划痕|刮花|瑕疵|变形|破了|撕破|撕坏|漏了|缺件|少了零件|掉漆|磕坏|用不了|不能用|不好用|"
            r"换一[个件幅张只套盒条把双对块片支本]|(?:能|可以|可不可以|能不能)(?:给我)?换(?!成|个颜色的?[吗呢]?\s*$)|补发|重发|"
            # damage said as a noun or on arrival ("arrived with a dent", "a crack in the lid", 凹了, 到货就坏)
            r"\b(?:a|with|has|had|got|have) (?:a |an |some )?(?:\w+ )?(?:dents?|cracks?|chips?|scratch(?:es)?|holes?|tears?)\b(?= in| on| at|\W*$| and| but|,)|"
            r"\bdamage[ds]?\b|\b(?:arriv\w*|came|turned up|delivered) (?:damaged|broken|dented|in bad condition|in a bad state)|"
            r"凹了|凹陷|凹痕|磕了|碰坏|摔坏|(?:收到|到货|送到|拿到)(?:的时候|时|后)?就?(?:坏|破|碎|裂|凹)"
        ),
    ),
    (
        "policy:shipping",
        re.compile(
            r"(?<!on )deliver(?:y|ed|ies)?\b|shipping|until (?:it|they|my (?:order|parcel|package)) (?:arrives?|gets? here|comes?)\b|\b(?:ship|post)(?:ped|ed|s)? (?:to|abroad|internationally|overseas)|dispatch|postage|"
            r"courier|tracking|track my|where is my (?:order|parcel|package)|\bparcel\b|when will (?:it|my order) arrive|when (?:will|would|does|do|can) (?:it|they|my (?:order|parcel|package)|the (?:order|parcel|package)) (?:get|arrive|reach)\b|how long (?:does|will) (?:it|the order|shipping) take|"
            r"\bsend (?:it|them|this|these|(?:the |my |our )?(?:orders?|parcels?|packages?)) (?:to (?!my |me\b|him\b|her\b|a friend)|abroad|overseas)|"
            r"运费|配送|发货|快递|邮寄|送货|包邮|免邮|免运费|多久能?到|几天到|寄到|物流|邮费|什么时候发出|何时发出|"
            # how long until it arrives, by days or by the order (下单后几天能收到, "how many days until I get it")
            r"(?:几|多少)天(?:能|可以|才能|就能|会)?(?:收到|到货|送到|寄到|到手)|(?:多久|多长时间|什么时候)(?:能|可以|才能|会)?(?:收到|到货|送到|到手)|"
            r"how (?:many|much) (?:days|time|weeks?) (?:until|till|before|to|will it take|does it take)|how (?:soon|quickly|fast) (?:will|would|can|could|do|does) (?:i|we|it|they|my \w+) (?:get|receive|arrive|come)|"
            r"when (?:will|would|should|do|can) (?:i|we) (?:get|receive) (?:it|them|my (?:order|parcel|package|things|items))|"
            r"\b(?:next|same)[- ](?:day|working day)\b|\bexpress (?:delivery|shipping|post)\b|次日达|当日达|隔日达|次日送达|当天送达|加急|"
            rf"(?:发|寄|邮|运)(?:得?到|往|去)?(?:{_PLACES_ZH})|"
            # meaning classes: an arrival verb of the order with a time ("will it reach … by Friday") or a place,
            # sending an item to a place, and sending out by a day (北爱尔兰能寄吗, 周末下的单周一能发出吗)
            rf"\b(?:will|would|does|can|could|should) (?:it|they|this|these|my (?:order|parcel|package)|the (?:order|parcel|package)) (?:reach|arrive|get (?:to|there|here)|be (?:there|here|delivered))\b|"
            rf"\b(?:reach|arrive|get (?:to|there|here)|be delivered)\b[\w' ]{{0,40}}\b(?:by|before|in time for) (?:{_TIMES_EN})\b|"
            rf"\b(?:send|ship|post|deliver)(?:s|ed|ing)? (?:[\w'-]+ ){{0,6}}to (?:{_PLACES_EN})\b|"
            rf"(?:{_PLACES_ZH})(?:能|可以|可不可以|能不能|能否)?(?:寄|发|邮|运|送)(?:吗|么|到|过去|不)|"
            r"(?:能|可以|能不能|可不可以|能否)(?:寄出|发出|发走|寄走)|(?:寄出|发出|发走|寄走)(?:吗|么)|"
            # the carrier, collecting an order oneself, having it by a day (明天能到吗, 下周三之前能收到吗)
            r"\b(?:send|ship|post|deliver)(?:s|ed|ing)? (?:[\w'-]+ ){0,4}(?:outside|abroad|overseas|internationally)\b|"
            r"royal mail|\b(?:dpd|dhl|ups|fedex|hermes|evri|parcelforce|yodel)\b|顺丰|邮政|哪家快递|"
            r"click and collect|\bcollect (?:it|them|this|these|my order|the order|in person)\b|"
            r"\bpick (?:it|them|this|these|(?:my|the) order) up\b|\bpick up (?:my|the|an?) order\b|自提|自取|上门取|"
            r"\bmake it (?:to|there|here|in time)\b|\bbe with (?:me|us|you|her|him|them)\b(?! on)|"
            rf"\b(?:get|have|receive) (?:it|them|this|these|my order|the order|my \w+)\b[\w' ]{{0,20}}?\b(?:by|before|for) (?:{_TIMES_EN})\b|"
            r"\b(?:get|have|receive) (?:it|them|this|these|my order|the order) (?:tomorrow|today|this week|next week)\b|"
            r"how (?:fast|quick|quickly|soon) (?:can|could|will|would) (?:i|we) (?:have|get|receive) (?:it|them|my \w+)|"
            rf"(?:{_TIMES_ZH})(?:之前|以前|前)?(?:能|可以|会|可不可以|能不能)?(?:到|收到|送到|到货|寄到|发货|发出|送达)(?:吗|么|不|$)"
        ),
    ),
    (
        "policy:payment",
        re.compile(
            r"\bpay\b|\bpaying\b|payment|paypal|credit card|debit card|\bvisa\b|mastercard|amex|american express|"
            r"bank transfer|\bvat\b|\bcurrenc(?:y|ies)\b|cards? do you (?:take|accept)|accept cards|"
            r"maestro|master ?card|diners club|\bjcb\b|union ?pay|discover card|apple ?pay|google ?pay|samsung pay|"
            r"klarna|clearpay|afterpay|alipay|we ?chat pay|\bcheques?\b|\b(?:in|with|by|accept|take|takes) cash\b|\bcash on delivery\b|instal?l?ments?|pay (?:later|monthly|in (?:\d+|two|three|four))|"
            r"\b(?:take|accept)s? (?:\w+ ){0,2}(?:cards?|payments?)\b|(?:which|what) cards\b|checkout|"
            r"付款|支付|信用卡|刷卡|付钱|支付宝|微信支付|什么货币|增值税|含税|税费|转账|万事达|运通|维萨|扣款|扣钱|借记卡|储蓄卡|刷[Vv]isa|刷VISA|"
            r"分期|银联|现金|货到付款|花呗|苹果支付|谷歌支付|结账|买单|付费|"
            r"(?:收|支持|接受|能用|可以用|可用|能刷|可以刷|用)[a-z\u4e00-\u9fff ]{0,8}卡(?:吗|付|支付|结账|买单|么)|"
            r"(?:card|account) (?:is |be |get )?charged|charge my card|"
            # the currency one is charged in, and gift cards or vouchers spent on an order
            r"\b(?:charged|billed|invoiced|priced|pay|paying) (?:in|with) (?:pounds|sterling|euros?|dollars|gbp|eur|usd|yuan|my (?:own |local )?currency|another currency)\b|"
            r"exchange rate|foreign (?:currency|card)|\bcharged in\b|"
            # one order paid with more than one card ("split it over two cards", 拆成两张卡付, half on one card)
            r"\b(?:half|part|some of it|the rest) (?:on|with|by|onto) (?:one|a|my|another|the other|a second) card\b|"
            r"\b(?:on|with|by|onto) (?:another|a second|my other|a different) card\b|"
            r"\b(?:two|2|three|several|multiple|different|more than one|separate) (?:credit |debit |bank |gift )?cards\b|"
            r"\bsplit\b[\w' ]{0,30}\b(?:cards?|payments?|bill)\b|(?:两|二|2|几|多)张(?:信用|银行|借记)?卡|卡(?:付|支付|结账|买单)|"
            r"\b(?:use|redeem|spend|pay with|pay by|apply) (?:a |an |my |your |the )?(?:gift ?cards?|gift vouchers?|vouchers?|gift certificates?|store credit|coupons?|discount codes?)\b|"
            r"汇率|币种|外币|欧元|美元|人民币结算|用英镑|抵扣|抵用|代金券|优惠券|购物卡|(?:礼品卡|礼品券|礼券)(?:能|可以)?(?:用|付|支付|结账|买单|抵)"
        ),
    ),
    (
        "policy:wholesale",
        re.compile(
            r"wholesale|\bbulk\b|large quantit|trade price|for my shop|resell|\b\d{3,} (?:pieces|units|items|of (?:these|them))|"
            r"\b(?:order|buy|get|need|want|purchase)(?:s|ed|ing)? (?:about |around |roughly |over |some |at least )?\d{3,}\b|"
            r"(?:trade|bulk|quantity|volume) discount|(?:large|big|bulk|volume|trade) orders?\b|trade (?:rates?|pric\w*|accounts?|customers?|terms)|retailers?\b|"
            r"stockists?|\bb2b\b|volume pric\w*|quantity pric\w*|by the (?:case|carton|box(?:es)?)\b|"
            r"(?:要|买|订|进|采购|需要)\s*\d{3,}\s*[个件只张支套盒条把双对块片本幅朵束包]|"
            r"进货|拿货|采购|大宗|量大|批发价|"
            r"批发|大量购买|批量|团购|大批"
        ),
    ),
    (
        "policy:contact",
        re.compile(
            r"contact|customer service|get in touch|in touch with|reach you|\be-?mail\b|phone number|call you|speak to|talk to (?:a|someone)|opening hours|"
            # when someone is there to answer ("what time are you open till?", 营业时间, 几点下班)
            r"\b(?:are|is) (?:you|the shop|the office|anyone) open\b|\bopen (?:till|until|on|at)\b|\bopening times\b|\bwhen do you (?:open|close)\b|"
            r"(?:^|你们|客服|店里|店铺|网店|贵店)\W*(?:[\u4e00-\u9fff]{0,4}?)(?:营业时间|工作时间|上班时间|几点下班|几点关门|几点开门|几点上班)|"
            r"客服|联系|电话|邮箱|邮件|电邮|人工|找谁|问谁|who (?:do|should|can) (?:i|we) (?:contact|ask|talk to|speak to|write to)|"
            r"\bcomplain(?:t|ts|ing|ed)?\b|get hold of (?:you|someone|somebody|a person)|找你们|whatsapp|wechat|live chat|\bchat (?:with|to) (?:you|someone|a person|a human)|"
            r"\b(?:message|text|phone|ring|dm|write to|email) (?:you|us)\b|give you a (?:call|ring)|\bhotline|helpline|"
            r"social media|instagram|facebook|twitter|speak (?:to|with) (?:a |an )?(?:human|person|someone|somebody|staff|manager)|"
            r"feedback|投诉|微信(?!支付)|留言|私信|在线咨询|打电话|致电|写信|反馈|意见|联络|"
            # a number or an address to reach a person ("a number I can ring", "a number to call")
            r"\b(?:phone |telephone |contact )?number (?:i|we) (?:can|could|should) (?:ring|call|phone|text|dial|use)\b|"
            r"\bnumber to (?:ring|call|phone|text|dial)\b|\btelephone\b|\b(?:ring|call|phone) (?:you|someone|somebody) (?:about|regarding|on)\b|"
            # a person to reach and when ("is anyone around at the weekend to answer questions?", 周末有人在吗)
            r"\b(?:anyone|anybody|someone|somebody) (?:around|available|about|there|working|in the office)\b|"
            r"\banswer (?:my |our |a few |some )?(?:questions|queries)\b|(?:周末|晚上|节假日)(?:有人|有客服)|有人在吗"
        ),
    ),
]


@dataclass
class Message:
    """The lexical reading of one message; the catalogue look-up reads :attr:`positive` and :attr:`negative`."""

    text: str
    lang: str
    price_min: float | None = None
    price_max: float | None = None
    sort: str | None = None  # "price_asc" | "price_desc"
    relative: str | None = None  # "cheaper" | "dearer"
    attribute: str | None = None
    prop: str | None = None
    yes_no: bool = False
    search: bool = False
    follow_up: bool = False
    pronoun: bool = False
    ordinal: int | None = None
    child_age: int | None = None
    policy: str | None = None
    policy_text: str = ""  # the words the policy was read from ("ring you": a phone call, or a ring)
    off_topic: bool = False
    item_ids: list[str] = field(default_factory=list)
    pack: int | None = None
    positive: str = ""
    negative: list[str] = field(default_factory=list)


def _zh_int(chars: str) -> int:
    """A Chinese numeral up to the thousands ("十五" 15, "二十" 20, "两" 2, "一千" 1000)."""
    total, current = 0, 0
    for ch in chars:
        if ch == "千":
            total += (current or 1) * 1000
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _ZH_DIGITS.get(ch, 0)
    return total + current


def normalise(text: str) -> str:
    """Lower case, full-width punctuation and digits folded, Chinese numerals before units turned into digits."""
    text = text.translate(
        str.maketrans("０１２３４５６７８９￡＄，：；？！（）", "0123456789£$,:;?!()")
    ).lower()
    text = _ZH_NUMBER.sub(lambda m: str(_zh_int(m.group(0))), text)
    text = re.sub(r"(\d+)\s*便士", lambda m: f"{int(m.group(1)) / 100:g}镑", text)  # 50便士 is £0.50
    text = _EN_NUMBER.sub(lambda m: str(_EN_UNITS[m.group(1)] + _EN_UNITS.get(m.group(2) or "", 0)), text)
    text = re.sub(r"\ba fiver\b", "£5", text)
    text = re.sub(r"\b(?:a|one) (?:pound|quid)\b", "£1", text)  # "for less than a pound"
    text = re.sub(r"\ba tenner\b", "£10", text)
    text = re.sub(r"\b(\d+) (?:pounds?|quid) (\d{2})\b", r"£\1.\2", text)  # "1 pound 50" is £1.50
    return re.sub(r"(\d),(\d{3})", r"\1\2", text)


def _blank(text: str, span: tuple[int, int]) -> str:
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1] :]


def _read_prices(text: str, msg: Message) -> str:
    """Set the price bounds of ``msg`` and blank the phrases that gave them."""
    for pattern in _BETWEEN:
        m = pattern.search(text)
        if m:
            low, high = sorted((float(m.group(1)), float(m.group(2))))
            msg.price_min, msg.price_max = low, high
            return _blank(text, m.span())
    m = _AROUND.search(text)
    if m:
        value = float(m.group(1) or m.group(2))
        msg.price_min, msg.price_max = round(value * 0.75, 2), round(value * 1.25, 2)
        text = _blank(text, m.span())
    for m in list(_OPS.finditer(text)):
        after = re.match(rf"\s*(?:the\s+)?{_CUR}?\s*{_NUM}(\s*(?:p|pence)\b)?{_UNIT}?", text[m.end() :])
        if not after:
            continue
        value = float(after.group(1)) / (100 if after.group(2) else 1)
        if m.group(1):
            msg.price_max = value
        else:
            msg.price_min = value
        text = _blank(text, (m.start(), m.end() + after.end()))
    suffix = re.compile(
        rf"{_CUR}?\s*{_NUM}(\s*(?:p|pence)\b)?{_UNIT}?\s*"
        r"(以内|以下|之内|内|or less|or under|and under|or cheaper|max|以上|or more|and up|and above|\+|起)"
    )
    for m in list(suffix.finditer(text)):
        value = float(m.group(1)) / (100 if m.group(2) else 1)
        if m.group(3) in ("以上", "or more", "and up", "and above", "+", "起"):
            msg.price_min = value
        else:
            msg.price_max = value
        text = _blank(text, m.span())
    return text


_NEG_EN = re.compile(
    r"\b(?:without|nothing (?:with|that has|featuring|in)|nothing|no|not|none with|except(?: for)?|excluding|but not|avoid|"
    r"(?:i )?(?:don't|do not|dont) want|don't like|do not like|other than|anything but|"
    r"minus|skip(?= the\b)|leave out|leaving out|apart from|not including|save for|rather than|"
    r"(?:that|which|who) (?:isn't|isnt|is not|aren't|arent|are not|don't have|dont have|do not have))\b"
)
_NEG_EN_END = re.compile(r"[,.;!?]|\b(?:and|but|under|over|between|for|please|that|which|i)\b")
_NEG_ZH = re.compile(r"不要有|不要|不想要|不带|不含|除了|别要|别|排除|不喜欢|不包括|去掉|没有(?!吗)")
_NEG_ZH_AFTER = re.compile(
    r"(?<![^\s,，。；;!！?？])([^\s,，。；;!！?？]+?)的?(?:不要|别要|不想要|不需要|除外|以外)(?:了|啦)?(?=\s*(?:[,，。；;!！?？]|$))"
)
_NEG_ZH_END = re.compile(r"[,，。；;!！?？的但]|只要|要")


def _split_negation(text: str, lang: str, msg: Message) -> str:
    """Move negated spans into ``msg.negative``; return the rest."""
    out = text
    if lang == "zh":
        for m in list(_NEG_ZH_AFTER.finditer(text)):  # 陶瓷的不要: the refused thing comes first
            msg.negative.append(m.group(1))
            text = out = _blank(out, m.span())
        for m in list(_NEG_ZH.finditer(text)):
            if m.group(0).startswith("没有") and text[max(0, m.start() - 1) : m.start()] == "有":
                continue  # 有没有 asks, it does not negate
            end = _NEG_ZH_END.search(text, m.end())
            stop = end.start() if end else len(text)
            msg.negative.append(text[m.end() : stop])
            out = _blank(out, (m.start(), stop))
        return out
    for m in list(_NEG_EN.finditer(text)):
        if m.group(0) in ("no", "not") and re.match(
            r"\s*(?:more|less|over|under|above|below)\b", text[m.end() :]
        ):
            continue
        lead = re.match(r"(?:\s*\b(?:for|with|in|of|a|an|the|any)\b)*", text[m.end() :])
        begin = m.end() + (lead.end() if lead else 0)
        end = _NEG_EN_END.search(text, begin)
        stop = end.start() if end else len(text)
        msg.negative.append(text[begin:stop])
        out = _blank(out, (m.start(), stop))
    return out


def _in_word(m: re.Match[str], words: list[tuple[int, int]]) -> bool:
    """Whether a match ends inside a product word: it is then part of the word's name, the head coming last
    (香 of 香皂, 电话 of 电话机, 留言 of 留言板); one that only starts inside a word is read (多少钱包邮: 钱|包邮)."""
    return any(s < m.end() < e for s, e in words)


def _find(
    pattern: re.Pattern[str], text: str, words: list[tuple[int, int]], pos: int = 0
) -> re.Match[str] | None:
    """The first match of ``pattern`` not inside a product word (有香味 after 香皂 still finds 香味)."""
    while (m := pattern.search(text, pos)) is not None:
        if not _in_word(m, words):
            return m
        pos = m.start() + 1
    return None


def _blank_found(pattern: re.Pattern[str], text: str, words: list[tuple[int, int]]) -> str:
    pos = 0
    while (m := _find(pattern, text, words, pos)) is not None:
        text, pos = _blank(text, m.span()), max(m.end(), m.start() + 1)
    return text


def pattern_of(policy: str) -> re.Pattern[str]:
    """The phrasing pattern of one policy intent."""
    return next(pattern for pid, pattern in POLICY_INTENTS if pid == policy)


def read_message(text: str, lang: str, words: re.Pattern[str] | None = None) -> Message:
    """The lexical reading of one message in ``lang`` ("en" or "zh").

    ``words``: the catalogue's product words (Chinese, two or more characters); a policy, property or fact
    phrase that cuts into one of them is not read (有香皂吗 asks for soap, not whether something is scented)."""
    low = normalise(text)
    msg = Message(text=text, lang=lang)
    msg.item_ids = [m.group(1).upper() for m in _ITEM_ID.finditer(text)]
    low = _ITEM_ID.sub(" ", low)
    spans = [m.span() for m in words.finditer(low) if m.end() - m.start() >= 2] if words is not None else []
    matched = [(pid, found) for pid, pattern in POLICY_INTENTS if (found := _find(pattern, low, spans))]
    # a Chinese contact noun glued to the product word after it names the product (航空邮件门垫: an airmail
    # doormat; 电话亭存钱罐), not a way to reach us
    matched = [
        (pid, found)
        for pid, found in matched
        if not (
            pid == "policy:contact"
            and re.fullmatch(r"[\u4e00-\u9fff]+", found.group(0))
            and any(
                start == found.end() and not pattern_of(pid).search(low[start:end]) for start, end in spans
            )
        )
    ]
    if not matched and (named := _NAMED_PLACE.search(_ITEM_ID.sub(" ", text))):
        # "can you get it to Penzance?": a delivery verb and a place's name (capitalised in the message)
        matched = [("policy:shipping", named)]
    if matched:
        pid, found = matched[0]
        # "my parcel hasn't turned up, how do I get hold of someone?": a later clause that asks is the question,
        # an earlier one that tells the story is its reason
        clauses = [m.end() for m in _CLAUSE_END.finditer(low[: found.start()])]
        for other, hit in matched[1:]:
            cut = max(
                (e for e in (m.end() for m in _CLAUSE_END.finditer(low)) if e <= hit.start()), default=-1
            )
            if cut > found.end() and _ASKS.match(low[cut:]) and not clauses:
                pid, found = other, hit
                break
        msg.policy, msg.policy_text = pid, found.group(0)
    pack = _PACK.search(low)
    if pack:
        msg.pack = int(pack.group(1) or pack.group(2) or pack.group(3))
    age = _AGE.search(low)
    if age:
        msg.child_age = int(age.group(1) or age.group(2))
        low = _blank(low, age.span())
    low = _read_prices(low, msg)
    if _DESC_ORDER.search(low):  # "by price, dearest first": the order asked is high to low
        msg.sort = "price_desc"
    elif _SORT_ASC.search(low):
        msg.sort = "price_asc"
    elif _SORT_DESC.search(low):
        msg.sort = "price_desc"
    elif _CHEAPER.search(low):
        msg.relative = "cheaper"
    elif _DEARER.search(low):
        msg.relative = "dearer"
    for pattern in (_DESC_ORDER, _SORT_ASC, _SORT_DESC, _CHEAPER, _DEARER):
        low = pattern.sub(lambda m: " " * len(m.group(0)), low)
    msg.yes_no = bool(_YES_NO.search(low))
    for prop, (pattern, _, _) in PROPERTIES.items():
        if _find(pattern, low, spans):
            msg.attribute, msg.prop = "property", prop
            low = _blank_found(pattern, low, spans)
            break
    if msg.attribute is None:
        for name, pattern in _ATTRIBUTES:
            if _find(pattern, low, spans):
                msg.attribute = name
                if name == "pack_count":  # 香草罐素描本里有几个罐子: the counted noun is not a constraint
                    counted = _COUNTED_ZH.search(low)
                    if counted and len(_COUNT_FILLER_ZH.sub("", low[: counted.start()])) >= 2:
                        low = _blank(low, counted.span(1))
                low = _blank_found(pattern, low, spans)
                break
    # "can you book me a taxi?": a service for the shopper, not a question about an item (BOOK is a title word)
    msg.off_topic = bool(
        re.match(r"\s*(?:who|why|when|where)\b|.*(?:谁|为什么|哪一年|天气)|.*\bbook (?:me|us)\b", low)
    )
    msg.search = bool(_SEARCH.search(low))
    msg.follow_up = bool(_FOLLOW.search(low))
    # Chinese drops the subject: 是玻璃的吗 after a question about an item is 它是玻璃的吗
    msg.pronoun = bool(_PRONOUN.search(low) or (msg.yes_no and re.match(r"\s*是[^不否]", low)))
    m = _ORDINAL.search(low)
    if m:
        msg.ordinal = _ORDINALS[m.group(1) or m.group(2)[:2]]
        low = _blank(low, m.span())
    msg.positive = _split_negation(low, lang, msg)
    if msg.pack is not None and not _PACK.search(msg.positive):
        msg.pack = None  # "mugs, no packs of 6": the pack size is refused, not asked for
    return msg
