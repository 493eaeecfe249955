"""The three UPnP services this device offers, declared once: their actions, arguments and
state variables, rendered as SCPD documents and used to check every SOAP call.

Clients such as async_upnp_client (Home Assistant) only call actions listed here, with argument
types from the related state variables, so the tables are complete. `X_GetFeatureList` is
Samsung's addition to ContentDirectory. It never handles a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    type: str = "string"
    events: bool = False
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """An action with its (name, related variable) arguments."""

    name: str
    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    short: str  # path segment: /dlna/control/<short>
    service_type: str
    service_id: str
    actions: tuple[Action, ...]
    variables: tuple[Variable, ...]

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)


_RESULT_OUT = (
    ("Result", "A_ARG_TYPE_Result"),
    ("NumberReturned", "A_ARG_TYPE_Count"),
    ("TotalMatches", "A_ARG_TYPE_Count"),
    ("UpdateID", "A_ARG_TYPE_UpdateID"),
)
_PAGE_IN = (
    ("Filter", "A_ARG_TYPE_Filter"),
    ("StartingIndex", "A_ARG_TYPE_Index"),
    ("RequestedCount", "A_ARG_TYPE_Count"),
    ("SortCriteria", "A_ARG_TYPE_SortCriteria"),
)

CONTENT_DIRECTORY = Service(
    "ContentDirectory",
    "urn:schemas-upnp-org:service:ContentDirectory:1",
    "urn:upnp-org:serviceId:ContentDirectory",
    (
        Action("GetSearchCapabilities", outputs=(("SearchCaps", "SearchCapabilities"),)),
        Action("GetSortCapabilities", outputs=(("SortCaps", "SortCapabilities"),)),
        Action("GetSystemUpdateID", outputs=(("Id", "SystemUpdateID"),)),
        Action(
            "Browse",
            (
                ("ObjectID", "A_ARG_TYPE_ObjectID"),
                ("BrowseFlag", "A_ARG_TYPE_BrowseFlag"),
                *_PAGE_IN,
            ),
            _RESULT_OUT,
        ),
        Action(
            "Search",
            (
                ("ContainerID", "A_ARG_TYPE_ObjectID"),
                ("SearchCriteria", "A_ARG_TYPE_SearchCriteria"),
                *_PAGE_IN,
            ),
            _RESULT_OUT,
        ),
        Action("X_GetFeatureList", outputs=(("FeatureList", "A_ARG_TYPE_Featurelist"),)),
    ),
    (
        Variable("SearchCapabilities"),
        Variable("SortCapabilities"),
        Variable("SystemUpdateID", "ui4", events=True),
        Variable("A_ARG_TYPE_ObjectID"),
        Variable("A_ARG_TYPE_Result"),
        Variable("A_ARG_TYPE_SearchCriteria"),
        Variable("A_ARG_TYPE_BrowseFlag", allowed=("BrowseMetadata", "BrowseDirectChildren")),
        Variable("A_ARG_TYPE_Filter"),
        Variable("A_ARG_TYPE_SortCriteria"),
        Variable("A_ARG_TYPE_Index", "ui4"),
        Variable("A_ARG_TYPE_Count", "ui4"),
        Variable("A_ARG_TYPE_UpdateID", "ui4"),
        Variable("A_ARG_TYPE_Featurelist"),
    ),
)

CONNECTION_MANAGER = Service(
    "ConnectionManager",
    "urn:schemas-upnp-org:service:ConnectionManager:1",
    "urn:upnp-org:serviceId:ConnectionManager",
    (
        Action(
            "GetProtocolInfo",
            outputs=(("Source", "SourceProtocolInfo"), ("Sink", "SinkProtocolInfo")),
        ),
        Action("GetCurrentConnectionIDs", outputs=(("ConnectionIDs", "CurrentConnectionIDs"),)),
        Action(
            "GetCurrentConnectionInfo",
            (("ConnectionID", "A_ARG_TYPE_ConnectionID"),),
            (
                ("RcsID", "A_ARG_TYPE_RcsID"),
                ("AVTransportID", "A_ARG_TYPE_AVTransportID"),
                ("ProtocolInfo", "A_ARG_TYPE_ProtocolInfo"),
                ("PeerConnectionManager", "A_ARG_TYPE_ConnectionManager"),
                ("PeerConnectionID", "A_ARG_TYPE_ConnectionID"),
                ("Direction", "A_ARG_TYPE_Direction"),
                ("Status", "A_ARG_TYPE_ConnectionStatus"),
            ),
        ),
    ),
    (
        Variable("SourceProtocolInfo", events=True),
        Variable("SinkProtocolInfo", events=True),
        Variable("CurrentConnectionIDs", events=True),
        Variable(
            "A_ARG_TYPE_ConnectionStatus",
            allowed=(
                "OK",
                "ContentFormatMismatch",
                "InsufficientBandwidth",
                "UnreliableChannel",
                "Unknown",
            ),
        ),
        Variable("A_ARG_TYPE_ConnectionManager"),
        Variable("A_ARG_TYPE_Direction", allowed=("Input", "Output")),
        Variable("A_ARG_TYPE_ProtocolInfo"),
        Variable("A_ARG_TYPE_ConnectionID", "i4"),
        Variable("A_ARG_TYPE_AVTransportID", "i4"),
        Variable("A_ARG_TYPE_RcsID", "i4"),
    ),
)

MEDIA_RECEIVER_REGISTRAR = Service(
    "MediaReceiverRegistrar",
    "urn:microsoft.com:service:X_MS_MediaReceiverRegistrar:1",
    "urn:microsoft.com:serviceId:X_MS_MediaReceiverRegistrar",
    (
        Action(
            "IsAuthorized",
            (("DeviceID", "A_ARG_TYPE_DeviceID"),),
            (("Result", "A_ARG_TYPE_Result"),),
        ),
        Action(
            "IsValidated",
            (("DeviceID", "A_ARG_TYPE_DeviceID"),),
            (("Result", "A_ARG_TYPE_Result"),),
        ),
        Action(
            "RegisterDevice",
            (("RegistrationReqMsg", "A_ARG_TYPE_RegistrationReqMsg"),),
            (("RegistrationRespMsg", "A_ARG_TYPE_RegistrationRespMsg"),),
        ),
    ),
    (
        Variable("A_ARG_TYPE_DeviceID"),
        Variable("A_ARG_TYPE_Result", "int"),
        Variable("A_ARG_TYPE_RegistrationReqMsg", "bin.base64"),
        Variable("A_ARG_TYPE_RegistrationRespMsg", "bin.base64"),
        Variable("AuthorizationGrantedUpdateID", "ui4", events=True),
        Variable("AuthorizationDeniedUpdateID", "ui4", events=True),
        Variable("ValidationSucceededUpdateID", "ui4", events=True),
        Variable("ValidationRevokedUpdateID", "ui4", events=True),
    ),
)

SERVICES = (CONTENT_DIRECTORY, CONNECTION_MANAGER, MEDIA_RECEIVER_REGISTRAR)


def _argument(name: str, direction: str, variable: str) -> str:
    return (
        f"<argument><name>{name}</name><direction>{direction}</direction>"
        f"<relatedStateVariable>{variable}</relatedStateVariable></argument>"
    )


def _variable(variable: Variable) -> str:
    allowed = "".join(f"<allowedValue>{escape(v)}</allowedValue>" for v in variable.allowed)
    return (
        f'<stateVariable sendEvents="{"yes" if variable.events else "no"}">'
        f"<name>{variable.name}</name><dataType>{variable.type}</dataType>"
        + (f"<allowedValueList>{allowed}</allowedValueList>" if allowed else "")
        + "</stateVariable>"
    )


def scpd_xml(service: Service) -> str:
    """The service description document."""
    actions = "".join(
        f"<action><name>{a.name}</name><argumentList>"
        + "".join(_argument(n, "in", v) for n, v in a.inputs)
        + "".join(_argument(n, "out", v) for n, v in a.outputs)
        + "</argumentList></action>"
        for a in service.actions
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<scpd xmlns="urn:schemas-upnp-org:service-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<actionList>{actions}</actionList>"
        f"<serviceStateTable>{''.join(_variable(v) for v in service.variables)}"
        "</serviceStateTable></scpd>"
    )
