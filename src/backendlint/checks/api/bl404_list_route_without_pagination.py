from ...facts.routes import ViewFact
from ...findings import Confidence, Severity
from ...python import routes_model as rm
from ...rule import Option, RuleMeta

_LIST_BASES = {"ListAPIView", "ListCreateAPIView", "ListModelMixin"}


class ListRouteWithoutPagination(rm.RouteProjectRule):
    """
    ## What it does
    Flags a `GET` collection route (its path does not end in a parameter) that returns
    query results with no limit, page, cursor or paginator:

    - a handler returning (directly, through local names, comprehensions or a
      serializer) a Django queryset (`Model.objects.all()/filter()/...`), an
      SQLAlchemy/SQLModel result (`Model.query.all()`, `session.query(...).all()`,
      `session.execute(select(...)).scalars().all()`, `session.exec(...).all()`) or a
      DB-API `fetchall()`, with no slicing, `.limit()`, `.paginate()`, `offset`, or
      page/limit/cursor parameter anywhere in the handler;
    - a DRF list: a viewset's `list` action or a `ListAPIView`/`ListCreateAPIView` with a
      `queryset`, no `pagination_class` on the view (or its project base classes) and no
      `DEFAULT_PAGINATION_CLASS` in the settings.

    A `get_queryset()` that filters on a key (`id=self.request.user.id`) or slices is
    taken as bounded; any other overridden `get_queryset()` lowers the confidence to
    medium. Handlers that render templates are not reported (server-rendered pages are out of
    scope); `fetchall()` results are reported with medium confidence.

    Code in tests is not checked (its routes are fixtures); in docs and examples findings
    have medium confidence at most.

    ## Why is this bad?
    A list that returns every row grows with the table: responses get slow and large, the
    database and the server's memory are loaded for nothing, and one request can become a
    denial of service (CWE-770). Clients cannot page through the results.

    ## Example
    ```python
    @router.get("/orders")
    def list_orders(db: Session = Depends(get_db)):
        return db.query(Order).all()
    ```

    ## Use instead
    ```python
    @router.get("/orders")
    def list_orders(limit: int = 50, offset: int = 0, db: Session = Depends(get_db)):
        return db.query(Order).order_by(Order.id).offset(offset).limit(limit).all()
    ```
    With DRF: `pagination_class` on the view or `DEFAULT_PAGINATION_CLASS` and `PAGE_SIZE`.

    ## Options
    None.

    ## References
    - https://cwe.mitre.org/data/definitions/770.html
    - https://www.django-rest-framework.org/api-guide/pagination/
    - https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
    """

    meta = RuleMeta(
        id="BL404", name="list-route-without-pagination", severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        summary="A GET collection route returns query results with no limit or pagination.",
        cwe=(770,), tags=("api-design", "performance"),
    )
    options = (
        Option("check-drf-lists", bool, True,
               "report DRF list views and viewsets without pagination"),
    )
    def check_project(self, facts) -> None:
        model = rm.project_model(self, facts)
        default_pagination = model.drf_defaults.get("DEFAULT_PAGINATION_CLASS", ())
        reported = set()
        for route in model.routes:
            if "GET" not in route.methods or rm.ends_with_parameter(route.path):
                continue
            body = route.body
            if body is not None and body.unbounded and not body.paginated and not body.renders_html:
                where = body.unbounded_location or route.location
                if where in reported:
                    continue
                reported.add(where)
                self.report_at(where, f"GET {route.path} returns {body.unbounded} with no limit or "
                               f"pagination", confidence=Confidence.MEDIUM if "fetchall" in body.unbounded
                               or not route.confirmed else None)
                continue
            if not (self.option("check-drf-lists") and route.drf and isinstance(route.view, ViewFact)):
                continue
            if route.view_method is not None:
                continue  # an overridden list(): judged by its body above
            view = route.view
            bases = {rm.w.last(b) for b in model._lineage(view) if isinstance(b, str)}
            is_list = route.action == "list" or (bases & _LIST_BASES and route.action in ("get", "list"))
            if not is_list or not model.class_attr(view, "has_queryset"):
                continue
            pagination = None
            for item in model._lineage(view):
                if isinstance(item, ViewFact) and item.pagination_class is not None:
                    pagination = item.pagination_class
                    break
            if pagination or (pagination is None and default_pagination):
                continue
            scope = model.class_attr(view, "custom_queryset") or ""
            if scope in ("single", "bounded"):
                continue
            if view.location in reported:
                continue
            reported.add(view.location)
            why = "its pagination_class is None" if pagination == "" else \
                "it has no pagination_class and the settings have no DEFAULT_PAGINATION_CLASS"
            self.report_at(view.location, f"GET {route.path} lists `{view.ref.rsplit('.', 1)[-1]}`'s "
                           f"queryset unpaginated: {why}",
                           confidence=None if route.confirmed and scope != "custom" else Confidence.MEDIUM)

