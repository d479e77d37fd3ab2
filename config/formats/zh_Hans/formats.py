"""Simplified Chinese as the console writes figures: 1,234,567.89. Django's zh_Hans formats
group by four digits with no separator, so a large balance reads as one long run of digits;
finance reads thousands with commas. Everything else falls through to Django's zh_Hans."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
