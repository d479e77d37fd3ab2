"""China's provincial-level divisions and their prefecture-level divisions, and the one way a
region is written: the short name of the most specific division recognised.

    上海市 → 上海    广西壮族自治区 → 广西    广东省广州市 → 广州    延边朝鲜族自治州 → 延边

Members and stores keep their region in this form (members.fields.RegionField), and segment
`region:` terms and rule-tag region conditions read what the operator types through the same
table, so `region:上海市` and `region:上海` both find members stored as 上海. A province in a
query also covers its prefecture-level divisions: `region:广东` finds 广州 and 深圳 too.
Text the table does not know (a district, a foreign city, a typo) is kept as typed, trimmed.

Two short names would clash, so the prefecture keeps a suffix: 吉林 is the province and
吉林市 the city; 海南 is the province and 海南州 the Tibetan prefecture in Qinghai.

The table: the 34 provincial-level divisions and the 333 prefecture-level divisions (293
prefecture-level cities, 7 prefectures, 30 autonomous prefectures, 3 leagues) as published
by the Ministry of Civil Affairs; the counties directly under a province (济源, 仙桃 …) are
county-level and not listed.
"""

from __future__ import annotations

from dataclasses import dataclass

# One line per provincial-level division: its full name, then its prefecture-level divisions.
# "full=short" where the short name is not the full name less 省, 市, 地区 or 盟.
_TABLE = """
北京市
天津市
河北省: 石家庄市 唐山市 秦皇岛市 邯郸市 邢台市 保定市 张家口市 承德市 沧州市 廊坊市 衡水市
山西省: 太原市 大同市 阳泉市 长治市 晋城市 朔州市 晋中市 运城市 忻州市 临汾市 吕梁市
内蒙古自治区=内蒙古: 呼和浩特市 包头市 乌海市 赤峰市 通辽市 鄂尔多斯市 呼伦贝尔市 巴彦淖尔市
    乌兰察布市 兴安盟 锡林郭勒盟 阿拉善盟
辽宁省: 沈阳市 大连市 鞍山市 抚顺市 本溪市 丹东市 锦州市 营口市 阜新市 辽阳市 盘锦市 铁岭市
    朝阳市 葫芦岛市
吉林省: 长春市 吉林市=吉林市 四平市 辽源市 通化市 白山市 松原市 白城市 延边朝鲜族自治州=延边
黑龙江省: 哈尔滨市 齐齐哈尔市 鸡西市 鹤岗市 双鸭山市 大庆市 伊春市 佳木斯市 七台河市 牡丹江市
    黑河市 绥化市 大兴安岭地区
上海市
江苏省: 南京市 无锡市 徐州市 常州市 苏州市 南通市 连云港市 淮安市 盐城市 扬州市 镇江市 泰州市
    宿迁市
浙江省: 杭州市 宁波市 温州市 嘉兴市 湖州市 绍兴市 金华市 衢州市 舟山市 台州市 丽水市
安徽省: 合肥市 芜湖市 蚌埠市 淮南市 马鞍山市 淮北市 铜陵市 安庆市 黄山市 滁州市 阜阳市 宿州市
    六安市 亳州市 池州市 宣城市
福建省: 福州市 厦门市 莆田市 三明市 泉州市 漳州市 南平市 龙岩市 宁德市
江西省: 南昌市 景德镇市 萍乡市 九江市 新余市 鹰潭市 赣州市 吉安市 宜春市 抚州市 上饶市
山东省: 济南市 青岛市 淄博市 枣庄市 东营市 烟台市 潍坊市 济宁市 泰安市 威海市 日照市 临沂市
    德州市 聊城市 滨州市 菏泽市
河南省: 郑州市 开封市 洛阳市 平顶山市 安阳市 鹤壁市 新乡市 焦作市 濮阳市 许昌市 漯河市
    三门峡市 南阳市 商丘市 信阳市 周口市 驻马店市
湖北省: 武汉市 黄石市 十堰市 宜昌市 襄阳市 鄂州市 荆门市 孝感市 荆州市 黄冈市 咸宁市 随州市
    恩施土家族苗族自治州=恩施
湖南省: 长沙市 株洲市 湘潭市 衡阳市 邵阳市 岳阳市 常德市 张家界市 益阳市 郴州市 永州市 怀化市
    娄底市 湘西土家族苗族自治州=湘西
广东省: 广州市 韶关市 深圳市 珠海市 汕头市 佛山市 江门市 湛江市 茂名市 肇庆市 惠州市 梅州市
    汕尾市 河源市 阳江市 清远市 东莞市 中山市 潮州市 揭阳市 云浮市
广西壮族自治区=广西: 南宁市 柳州市 桂林市 梧州市 北海市 防城港市 钦州市 贵港市 玉林市 百色市
    贺州市 河池市 来宾市 崇左市
海南省: 海口市 三亚市 三沙市 儋州市
重庆市
四川省: 成都市 自贡市 攀枝花市 泸州市 德阳市 绵阳市 广元市 遂宁市 内江市 乐山市 南充市 眉山市
    宜宾市 广安市 达州市 雅安市 巴中市 资阳市 阿坝藏族羌族自治州=阿坝 甘孜藏族自治州=甘孜
    凉山彝族自治州=凉山
贵州省: 贵阳市 六盘水市 遵义市 安顺市 毕节市 铜仁市 黔西南布依族苗族自治州=黔西南
    黔东南苗族侗族自治州=黔东南 黔南布依族苗族自治州=黔南
云南省: 昆明市 曲靖市 玉溪市 保山市 昭通市 丽江市 普洱市 临沧市 楚雄彝族自治州=楚雄
    红河哈尼族彝族自治州=红河 文山壮族苗族自治州=文山 西双版纳傣族自治州=西双版纳
    大理白族自治州=大理 德宏傣族景颇族自治州=德宏 怒江傈僳族自治州=怒江 迪庆藏族自治州=迪庆
西藏自治区=西藏: 拉萨市 日喀则市 昌都市 林芝市 山南市 那曲市 阿里地区
陕西省: 西安市 铜川市 宝鸡市 咸阳市 渭南市 延安市 汉中市 榆林市 安康市 商洛市
甘肃省: 兰州市 嘉峪关市 金昌市 白银市 天水市 武威市 张掖市 平凉市 酒泉市 庆阳市 定西市 陇南市
    临夏回族自治州=临夏 甘南藏族自治州=甘南
青海省: 西宁市 海东市 海北藏族自治州=海北 黄南藏族自治州=黄南 海南藏族自治州=海南州
    果洛藏族自治州=果洛 玉树藏族自治州=玉树 海西蒙古族藏族自治州=海西
宁夏回族自治区=宁夏: 银川市 石嘴山市 吴忠市 固原市 中卫市
新疆维吾尔自治区=新疆: 乌鲁木齐市 克拉玛依市 吐鲁番市 哈密市 昌吉回族自治州=昌吉
    博尔塔拉蒙古自治州=博尔塔拉 巴音郭楞蒙古自治州=巴音郭楞 克孜勒苏柯尔克孜自治州=克孜勒苏
    伊犁哈萨克自治州=伊犁 阿克苏地区 喀什地区 和田地区 塔城地区 阿勒泰地区
台湾省
香港特别行政区=香港
澳门特别行政区=澳门
"""

# Trimmed from both ends of a region; also dropped inside it when looking it up, so that
# "广东 广州", "广东/广州" and "广东省广州市" are one region.
SPACES = " \t\r\n\u3000\u00a0"
SEPARATORS = SPACES + "/-·"
_DROP = str.maketrans("", "", SEPARATORS)


@dataclass(frozen=True)
class Division:
    name: str  # the full official name: 广西壮族自治区, 延边朝鲜族自治州
    short: str  # the stored form: 广西, 延边
    province: str  # the province's short name (itself for a province)


def _short(full: str) -> str:
    for suffix in ("特别行政区", "自治区", "地区", "省", "市", "盟"):
        if full.endswith(suffix) and len(full) > len(suffix) + 1:
            return full[: -len(suffix)]
    return full


def _entry(text: str) -> tuple[str, str]:
    full, _, short = text.partition("=")
    return full, short or _short(full)


def _spellings(full: str, short: str) -> set[str]:
    """Every way the division is commonly written on its own."""
    names = {full, short}
    if full.endswith("自治区"):
        names |= {short + "自治区"} | ({"内蒙"} if short == "内蒙古" else set())
    if full.endswith("特别行政区"):
        names.add(short + "特区")
    if full.endswith("自治州"):
        base = short.removesuffix("州")
        names |= {base + "州", base + "自治州"}
    return names


def _build() -> tuple[dict[str, Division], dict[str, str]]:
    divisions: dict[str, Division] = {}
    aliases: dict[str, str] = {}

    def alias(key: str, short: str) -> None:
        if aliases.setdefault(key, short) != short:
            raise ValueError(f"region table: {key} means both {aliases[key]} and {short}")

    for line in _TABLE.replace("\n    ", " ").strip().splitlines():
        head, _, rest = line.partition(":")
        full, short = _entry(head.strip())
        divisions[short] = Division(full, short, short)
        province_names = _spellings(full, short)
        for name in province_names:
            alias(name, short)
        for item in rest.split():
            city_full, city_short = _entry(item)
            if city_short in divisions:
                raise ValueError(f"region table: {city_short} twice")
            divisions[city_short] = Division(city_full, city_short, short)
            for name in _spellings(city_full, city_short):
                alias(name, city_short)
                for prefix in province_names:
                    alias(prefix + name, city_short)
    return divisions, aliases


DIVISIONS, _ALIASES = _build()
PROVINCES = tuple(d for d in DIVISIONS.values() if d.province == d.short)
_WITHIN: dict[str, tuple[str, ...]] = {
    p.short: (p.short, *(d.short for d in DIVISIONS.values()
                         if d.province == p.short and d.short != p.short))
    for p in PROVINCES}


def region_aliases() -> dict[str, str]:
    """Every recognised spelling (without separators) → its stored form; the data migration
    loads it into a table to normalise existing rows in SQL."""
    return dict(_ALIASES)


def region_key(text: str) -> str:
    return text.strip(SPACES).translate(_DROP)


def region_normalise(text: str | None) -> str:
    """The stored form of a region: the short name of the most specific division the table
    recognises, or the text as typed, trimmed."""
    if not text:
        return ""
    trimmed = text.strip(SPACES)
    return _ALIASES.get(trimmed.translate(_DROP), trimmed)


def region_known(text: str) -> bool:
    return region_normalise(text) in DIVISIONS


def region_matches(values: list[str] | tuple[str, ...]) -> list[str]:
    """The stored regions a query for `values` finds: each value normalised, a province
    with its prefecture-level divisions. Unknown values find only themselves."""
    found: dict[str, None] = {}
    for value in values:
        short = region_normalise(value)
        if short:
            found.update(dict.fromkeys(_WITHIN.get(short, (short,))))
    return list(found)
