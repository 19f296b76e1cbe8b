"""The prompt an LLM backend gets: the item's structured product record, never the raw title alone.

The record (:func:`tuijian.nlp.product.understand`) says what the item *is* ("bottle opener", theme "dog", pack of
6, capacity "100 sheets"), so the model is told the product type instead of guessing it from an upper-case
title. A Chinese prompt carries the Chinese names (开瓶器, 狗, 白色) and asks the model to name the product with
them; the English title is given only as the shop's spec line. The reply is checked afterwards by the guard
(:func:`tuijian.generate.guard.check`) against the same item; the prompt only makes a grounded reply likelier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuijian.generate import templates
from tuijian.nlp.lexicon import attribute_lexicon, chinese_name
from tuijian.nlp.product import ProductRecord, chinese_product_type, understand

if TYPE_CHECKING:
    from tuijian.generate.backends import GenerationRequest
    from tuijian.generate.facts import ItemFacts

#: Record field -> the attribute-lexicon kinds that hold its Chinese names.
_ZH_KINDS: dict[str, tuple[str, ...]] = {
    "theme": ("pattern", "occasion", "style"),
    "colour": ("colour",),
    "material": ("material",),
    "size": ("size",),
    "audience": ("recipient",),
}

_TASK_EN = {
    "description": "Write a short product description of this {product} (2-3 sentences).",
    "ad": "Write a one-sentence advert for this {product}, addressed to this shopper.",
    "summary": "Summarise the reviews of this {product} in 2 sentences: first the praise, then the complaints.",
}
_TASK_ZH = {
    "description": "请用中文写一段简短的商品描述（2-3句），商品名称用“{product}”。",
    "ad": "请用中文为这位顾客写一句广告语，商品名称用“{product}”。",
    "summary": "请用中文用两句话总结这款{product}的评价：先写优点，再写缺点。",
}
_SYSTEM_EN = (
    "You write copy for an online shop. Use only the facts given. Never invent a brand, number, price, colour, "
    "material, size or feature. Write plain sentences, no lists."
)
_SYSTEM_ZH = (
    "你是网店文案助手。只能使用给出的事实，不得编造任何品牌、数字、价格、颜色、材质、尺寸或功能。"
    "只写中文句子，不要列表，不要照抄英文标题。"
)


def product_record(facts: ItemFacts) -> ProductRecord:
    """The structured record of an item (title, then category and description where the title is silent)."""
    return understand(facts.title, facts.description or None, facts.category or None)


def zh_value(field: str, value: str | int) -> str | None:
    """The Chinese name of a record value, or ``None`` when the lexicon has none (never a guess)."""
    if field == "product_type":
        return chinese_product_type(str(value))
    lexicon = attribute_lexicon()
    for kind in _ZH_KINDS.get(field, ()):
        forms = lexicon.get(kind, {}).get(str(value))
        if forms and forms["zh"]:
            return str(forms["zh"][0])
    return None


def product_name(record: ProductRecord, facts: ItemFacts, language: str) -> str:
    """What the copy should call the item: the product type (its Chinese name in ``zh``), else the title."""
    if record.product_type is not None:
        if language == "zh":
            zh = zh_value("product_type", record.product_type.value)
            if zh:
                return zh
        else:
            return str(record.product_type.value)
    return templates.title_case(facts.display_name) if language != "zh" else "商品"


def record_lines(record: ProductRecord, facts: ItemFacts, language: str) -> list[str]:
    """The record as ``label: value`` lines in the prompt's language (Chinese names where the lexicon has them,
    the English value otherwise)."""
    zh = language == "zh"
    lines = []
    if record.product_type is not None:
        name = product_name(record, facts, language)
        lines.append(f"商品：{name}" if zh else f"product: {name}")
    labels = {
        "theme": ("主题/图案", "theme"),
        "colour": ("颜色", "colour"),
        "material": ("材质", "material"),
        "size": ("尺寸", "size"),
        "capacity": ("容量", "capacity"),
        "audience": ("适合", "for"),
    }
    for field_name, (label_zh, label_en) in labels.items():
        values = [str(v) for v in record.values(field_name)]
        if not values:
            continue
        if zh:
            values = [zh_value(field_name, v) or v for v in values]
        lines.append(f"{label_zh}：{'、'.join(values)}" if zh else f"{label_en}: {', '.join(values)}")
    if record.pack_count is not None:
        n = record.pack_count.value
        lines.append(f"数量：一套{n}件" if zh else f"pack: a set of {n}")
    if facts.brand:
        lines.append(f"品牌：{facts.brand}" if zh else f"brand: {facts.brand}")
    price = facts.price_text()
    if price:
        lines.append(f"价格：{price}" if zh else f"price: {price}")
    return lines


def fact_sheet(request: GenerationRequest, max_quotes: int = 4) -> str:
    """The facts an LLM may use, as plain lines: the product record, the price, the shop's title (as the spec
    line), the description, review quotes by polarity and, for an ad, the shopper's interests that the item
    really shares."""
    facts, zh = request.facts, request.language == "zh"
    record = product_record(facts)
    lines = record_lines(record, facts, request.language)
    lines.append(("商品标题（英文，仅作规格行，不要照抄）：" if zh else "shop title: ") + facts.display_name)
    if facts.description and not zh:
        lines.append(f"description: {facts.description[:300]}")
    if request.task == "summary":
        praise, complaints = facts.positive_evidence()[:max_quotes], facts.negative_evidence()[:max_quotes]
        lines += [("好评：" if zh else "praise: ") + e.text for e in praise]
        lines += [("差评：" if zh else "complaint: ") + e.text for e in complaints]
    if request.task == "ad":
        item_values = facts.attributes.values()
        shared: list[str] = []
        for interest in request.interests:
            kind, _, value = interest.rpartition(":")
            if value in item_values:
                shared.append(chinese_name(kind, value) if zh and kind else value)
        if shared:
            lines.append(
                ("顾客喜欢：" if zh else "shopper likes: ")
                + ("、" if zh else ", ").join(dict.fromkeys(shared))
            )
        if request.reason:
            lines.append(("推荐理由：" if zh else "why recommended: ") + request.reason)
    return "\n".join(lines)


def chat_messages(request: GenerationRequest, system_role: bool = True) -> list[dict[str, str]]:
    """System and user messages for a chat model: the rules, the fact sheet, the task. With
    ``system_role=False`` (models without a system turn, such as Gemma) the rules open the user message."""
    record = product_record(request.facts)
    name = product_name(record, request.facts, request.language)
    if request.language == "zh":
        system, task = _SYSTEM_ZH, _TASK_ZH[request.task].format(product=name)
        user = f"事实：\n{fact_sheet(request)}\n\n{task}"
    else:
        system, task = _SYSTEM_EN, _TASK_EN[request.task].format(product=name)
        user = f"Facts:\n{fact_sheet(request)}\n\n{task}"
    if not system_role:
        return [{"role": "user", "content": f"{system}\n\n{user}"}]
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


#: Words of the prompt itself: a reply that contains one repeats its instructions instead of writing copy
#: (a pre-trained model without chat tuning continues the prompt rather than answering it).
_PROMPT_MARKERS = (
    "Facts:",
    "shop title:",
    "Write a short product description",
    "Write a one-sentence advert",
    "Use only the facts given",
    "事实：",
    "商品标题（英文",
    "仅作规格行",
    "请用中文",
    "不要照抄",
    "只能使用给出的事实",
    "主题/图案：",
    "<start_of_turn>",
    "<|im_start|>",
    "[INST]",
    "<<SYS>>",
)


def prompt_echo(reply: str, messages: list[dict[str, str]]) -> str | None:
    """The piece of the prompt that ``reply`` repeats (an instruction, a fact-sheet label, a chat-template
    token, or a whole task line), or ``None`` when the reply reads as copy."""
    low = reply.lower()
    for marker in _PROMPT_MARKERS:
        if marker.lower() in low:
            return marker
    for message in messages:
        last = message["content"].strip().splitlines()[-1].strip()  # the task sentence
        if len(last) >= 12 and last.lower() in low:
            return last
    return None
