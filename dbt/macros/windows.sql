{#- A window frame over the `occurred_at` axis that holds exactly the rows in [t - span, t):
    `range ... current row` reaches back to t - span inclusive, and `exclude group` drops the row
    itself and every row at the same instant, so nothing at or after t is counted. -#}
{% macro before(partition, span=none) -%}
(partition by {{ partition }} order by occurred_at
 range between {% if span %}interval {{ span }} preceding{% else %}unbounded preceding{% endif %} and current row
 exclude group)
{%- endmacro %}

{#- Days between two timestamps, as a double (microsecond resolution). -#}
{% macro days_between(start, finish) -%}
(date_diff('microsecond', {{ start }}, {{ finish }}) / 86400000000.0)
{%- endmacro %}

{#- The contracts' no-history value of a feature (seeded from contracts.schemas.no_history). -#}
{% macro no_history(feature) -%}
cast({{ var('no_history')[feature] }} as double)
{%- endmacro %}
