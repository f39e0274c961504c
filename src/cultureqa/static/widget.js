/*
 * cultureqa chat widget: one dependency-free file, served by the cultureqa server.
 *
 *   <script src="https://HOST/widget.js" async data-title="Ask about culture"></script>
 *
 * Options are the script tag's data- attributes (see the server's home page or the README).
 * Everything lives in a <cultureqa-chat> element with a shadow root, so the host page's styles
 * do not reach it. Text from the server (answers, passages, titles) is only ever set with
 * textContent, never parsed as HTML, and only http(s) links are made clickable.
 */
(function () {
  "use strict";

  var TAG = "cultureqa-chat";
  var HISTORY_TURNS = 3;
  var TOP_K = 5;
  var TIMEOUT_MS = 30000;
  // Without the server's `answer` field, a top passage this dissimilar is not an answer.
  var MIN_SCORE = 0.2;
  // Passages shown as related reading when there is no answer.
  var RELATED_PASSAGES = 3;
  var RTL = ["ar", "he", "fa", "ur"];

  var STRINGS = {
    en: {
      open: "Ask a question", close: "Close chat", clear: "New conversation",
      label: "Your question", send: "Send", thinking: "Searching the articles…",
      source: "Source", more: "Show {n} more passages", less: "Hide the other passages",
      nothing: "Nothing relevant found in the articles. Try other words, or ask about a place they cover.",
      offline: "Cannot reach the server. Check your connection, then try again.",
      busy: "Too many questions at once. Wait a moment, then try again.",
      server: "The server had a problem answering. Try again in a moment.",
      unavailable: "The service is not ready yet. Try again in a moment.",
      invalid: "The question was not accepted: {msg}",
      retry: "Try again", helpful: "Helpful", unhelpful: "Not helpful",
      rate: "Was this answer helpful?", thanks: "Thanks for your feedback.",
      feedbackFailed: "Could not send your feedback.",
      newTab: "(opens in a new tab)", suggestions: "Suggested questions",
      answer: "Answer: {text}", you: "You asked", passage: "Passage {n}",
      related: "Related reading (not an answer):", elsewhere: "None of the articles covers {places}."
    },
    fr: {
      open: "Poser une question", close: "Fermer la discussion", clear: "Nouvelle conversation",
      label: "Votre question", send: "Envoyer", thinking: "Recherche dans les articles…",
      source: "Source", more: "Afficher {n} autres passages", less: "Masquer les autres passages",
      nothing: "Rien de pertinent dans les articles. Essayez d’autres mots, ou interrogez-les sur un lieu qu’ils traitent.",
      offline: "Le serveur est injoignable. Vérifiez votre connexion, puis réessayez.",
      busy: "Trop de questions à la fois. Patientez un instant, puis réessayez.",
      server: "Le serveur n’a pas pu répondre. Réessayez dans un instant.",
      unavailable: "Le service n’est pas encore prêt. Réessayez dans un instant.",
      invalid: "La question n’a pas été acceptée : {msg}",
      retry: "Réessayer", helpful: "Utile", unhelpful: "Pas utile",
      rate: "Cette réponse vous a-t-elle aidé ?", thanks: "Merci pour votre avis.",
      feedbackFailed: "Votre avis n’a pas pu être envoyé.",
      newTab: "(s’ouvre dans un nouvel onglet)", suggestions: "Questions suggérées",
      answer: "Réponse : {text}", you: "Vous avez demandé", passage: "Passage {n}",
      related: "Lectures connexes (pas une réponse) :", elsewhere: "Aucun article ne traite de {places}."
    },
    es: {
      open: "Hacer una pregunta", close: "Cerrar el chat", clear: "Nueva conversación",
      label: "Tu pregunta", send: "Enviar", thinking: "Buscando en los artículos…",
      source: "Fuente", more: "Mostrar {n} pasajes más", less: "Ocultar los otros pasajes",
      nothing: "No se encontró nada relevante en los artículos. Prueba con otras palabras o pregunta por un lugar que traten.",
      offline: "No se puede conectar con el servidor. Revisa tu conexión y vuelve a intentarlo.",
      busy: "Demasiadas preguntas a la vez. Espera un momento y vuelve a intentarlo.",
      server: "El servidor tuvo un problema al responder. Inténtalo de nuevo en un momento.",
      unavailable: "El servicio aún no está listo. Inténtalo de nuevo en un momento.",
      invalid: "La pregunta no fue aceptada: {msg}",
      retry: "Reintentar", helpful: "Útil", unhelpful: "No útil",
      rate: "¿Te ayudó esta respuesta?", thanks: "Gracias por tu opinión.",
      feedbackFailed: "No se pudo enviar tu opinión.",
      newTab: "(se abre en una pestaña nueva)", suggestions: "Preguntas sugeridas",
      answer: "Respuesta: {text}", you: "Preguntaste", passage: "Pasaje {n}",
      related: "Lecturas relacionadas (no es una respuesta):", elsewhere: "Ningún artículo trata sobre {places}."
    },
    de: {
      open: "Eine Frage stellen", close: "Chat schließen", clear: "Neues Gespräch",
      label: "Ihre Frage", send: "Senden", thinking: "Die Artikel werden durchsucht…",
      source: "Quelle", more: "{n} weitere Passagen zeigen", less: "Weitere Passagen ausblenden",
      nothing: "In den Artikeln wurde nichts Passendes gefunden. Versuchen Sie andere Wörter oder fragen Sie nach einem Ort, den sie behandeln.",
      offline: "Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
      busy: "Zu viele Fragen auf einmal. Warten Sie kurz und versuchen Sie es erneut.",
      server: "Der Server konnte nicht antworten. Versuchen Sie es gleich noch einmal.",
      unavailable: "Der Dienst ist noch nicht bereit. Versuchen Sie es gleich noch einmal.",
      invalid: "Die Frage wurde nicht angenommen: {msg}",
      retry: "Erneut versuchen", helpful: "Hilfreich", unhelpful: "Nicht hilfreich",
      rate: "War diese Antwort hilfreich?", thanks: "Danke für Ihre Rückmeldung.",
      feedbackFailed: "Ihre Rückmeldung konnte nicht gesendet werden.",
      newTab: "(öffnet in einem neuen Tab)", suggestions: "Vorgeschlagene Fragen",
      answer: "Antwort: {text}", you: "Sie fragten", passage: "Passage {n}",
      related: "Verwandte Lektüre (keine Antwort):", elsewhere: "Keiner der Artikel behandelt {places}."
    },
    ko: {
      open: "질문하기", close: "채팅 닫기", clear: "새 대화",
      label: "질문", send: "보내기", thinking: "기사를 검색하는 중…",
      source: "출처", more: "다른 구절 {n}개 보기", less: "다른 구절 숨기기",
      nothing: "기사에서 관련 내용을 찾지 못했습니다. 다른 단어로 묻거나 기사에서 다루는 장소에 대해 물어보세요.",
      offline: "서버에 연결할 수 없습니다. 연결을 확인한 뒤 다시 시도하세요.",
      busy: "질문이 너무 많습니다. 잠시 후 다시 시도하세요.",
      server: "서버가 답하는 중 문제가 생겼습니다. 잠시 후 다시 시도하세요.",
      unavailable: "서비스가 아직 준비되지 않았습니다. 잠시 후 다시 시도하세요.",
      invalid: "질문을 받을 수 없습니다: {msg}",
      retry: "다시 시도", helpful: "도움이 됨", unhelpful: "도움이 안 됨",
      rate: "이 답변이 도움이 되었나요?", thanks: "의견을 보내 주셔서 감사합니다.",
      feedbackFailed: "의견을 보내지 못했습니다.",
      newTab: "(새 탭에서 열림)", suggestions: "추천 질문",
      answer: "답변: {text}", you: "질문", passage: "구절 {n}",
      related: "관련 읽을거리 (답변 아님):", elsewhere: "{places}에 대해 다루는 기사가 없습니다."
    },
    ar: {
      open: "اطرح سؤالًا", close: "إغلاق المحادثة", clear: "محادثة جديدة",
      label: "سؤالك", send: "إرسال", thinking: "جارٍ البحث في المقالات…",
      source: "المصدر", more: "عرض {n} مقاطع أخرى", less: "إخفاء المقاطع الأخرى",
      nothing: "لم يُعثر على شيء ذي صلة في المقالات. جرّب كلمات أخرى، أو اسأل عن مكان تتناوله.",
      offline: "تعذّر الوصول إلى الخادم. تحقّق من اتصالك ثم حاول مجددًا.",
      busy: "أسئلة كثيرة في وقت واحد. انتظر لحظة ثم حاول مجددًا.",
      server: "واجه الخادم مشكلة في الإجابة. حاول مجددًا بعد لحظة.",
      unavailable: "الخدمة ليست جاهزة بعد. حاول مجددًا بعد لحظة.",
      invalid: "لم يُقبل السؤال: {msg}",
      retry: "إعادة المحاولة", helpful: "مفيد", unhelpful: "غير مفيد",
      rate: "هل كانت هذه الإجابة مفيدة؟", thanks: "شكرًا على رأيك.",
      feedbackFailed: "تعذّر إرسال رأيك.",
      newTab: "(يفتح في علامة تبويب جديدة)", suggestions: "أسئلة مقترحة",
      answer: "الإجابة: {text}", you: "سألت", passage: "المقطع {n}",
      related: "قراءات ذات صلة (ليست إجابة):", elsewhere: "لا تتناول أي مقالة {places}."
    }
  };

  var CSS = [
    ":host{all:initial;display:block;}",
    ":host([hidden]),[hidden]{display:none !important;}",
    ":host([data-mode=inline]),.root.inline{height:100%;}",
    ".root{--accent:#1d4ed8;--on-accent:#fff;--text:#1a1a1a;--muted:#4b5563;--link:#1e40af;",
    "--line:#d0d5dd;--soft:#f2f4f7;--error:#b42318;",
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Arabic',",
    "'Noto Sans CJK KR','Helvetica Neue',Arial,sans-serif;color:var(--text);text-align:start;",
    "letter-spacing:normal;word-spacing:normal;text-transform:none;font-style:normal;font-weight:400;}",
    "*,*::before,*::after{box-sizing:border-box;}",
    "button,input{font:inherit;color:inherit;letter-spacing:inherit;}",
    "button{cursor:pointer;}",
    ":focus-visible{outline:3px solid #111;outline-offset:2px;box-shadow:0 0 0 2px #fff;}",
    ".sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;",
    "clip:rect(0 0 0 0);white-space:nowrap;border:0;}",
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:inline-flex;",
    "align-items:center;gap:8px;min-height:48px;padding:0 18px;border:2px solid transparent;",
    "border-radius:24px;background:var(--accent);color:var(--on-accent);font-weight:600;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25);}",
    ".root.left .launcher{right:auto;left:20px;}",
    ".launcher svg{width:20px;height:20px;fill:currentColor;}",
    ".icon svg{width:20px;height:20px;fill:currentColor;}",
    ".rate{display:inline-flex;align-items:center;justify-content:center;min-width:40px;}",
    ".rate svg{width:16px;height:16px;fill:currentColor;}",
    ".panel{display:flex;flex-direction:column;background:#fff;color:var(--text);overflow:hidden;}",
    ".floating .panel{position:fixed;bottom:84px;right:20px;z-index:2147483001;width:400px;",
    "max-width:calc(100vw - 40px);height:min(720px,calc(100vh - 110px));border:1px solid var(--line);",
    "border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);}",
    ".floating.left .panel{right:auto;left:20px;}",
    ".inline .panel{width:100%;height:100%;min-height:360px;border:1px solid var(--line);border-radius:12px;}",
    ".panel[hidden]{display:none;}",
    "header{display:flex;align-items:center;gap:8px;padding:10px 10px 10px 16px;",
    "background:var(--accent);color:var(--on-accent);}",
    "[dir=rtl] header{padding:10px 16px 10px 10px;}",
    "header h2{flex:1;margin:0;font-size:16px;font-weight:700;line-height:1.3;}",
    ".icon{display:inline-flex;align-items:center;justify-content:center;min-width:36px;",
    "min-height:36px;padding:0 8px;border:0;border-radius:8px;background:transparent;",
    "color:inherit;font-size:14px;}",
    ".icon:hover{background:rgba(127,127,127,.25);}",
    ".log{flex:1;overflow-y:auto;padding:14px 14px 4px;display:flex;flex-direction:column;gap:12px;}",
    ".msg{max-width:92%;padding:10px 12px;border-radius:12px;overflow-wrap:anywhere;}",
    ".msg p{margin:0;}",
    ".q{align-self:flex-end;background:var(--accent);color:var(--on-accent);white-space:pre-wrap;}",
    ".a{align-self:flex-start;background:var(--soft);}",
    ".answer-text{white-space:pre-line;}",
    ".cite-list,.more{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-direction:column;gap:6px;}",
    ".more>li{border-top:1px solid var(--line);padding-top:8px;}",
    ".more p{margin:0 0 4px;white-space:pre-line;}",
    ".related-heading{margin:8px 0 0;font-weight:600;}",
    "a{color:var(--link);text-decoration:underline;text-underline-offset:2px;}",
    ".cite{font-size:14px;}",
    ".num{font-weight:700;}",
    ".nolink{color:var(--muted);font-size:14px;}",
    ".row{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:8px;}",
    ".chip{border:1px solid #767f8f;background:#fff;color:var(--text);border-radius:16px;",
    "padding:5px 10px;font-size:14px;min-height:32px;}",
    ".chip[aria-pressed=true]{background:var(--accent);color:var(--on-accent);border-color:var(--accent);}",
    ".note{font-size:13px;color:var(--muted);}",
    ".error{color:var(--error);font-weight:600;}",
    ".thinking{color:var(--muted);font-style:italic;}",
    ".thinking::after{content:'';display:inline-block;width:1em;text-align:start;",
    "animation:dots 1.2s steps(4,end) infinite;}",
    "@keyframes dots{0%{content:''}25%{content:'.'}50%{content:'..'}75%{content:'...'}}",
    "@media (prefers-reduced-motion:reduce){.thinking::after{animation:none;}}",
    ".suggestions{display:flex;flex-wrap:wrap;gap:6px;padding:0 14px 8px;}",
    "form{display:flex;gap:8px;padding:10px 12px 12px;border-top:1px solid var(--line);}",
    "input{flex:1;min-width:0;min-height:44px;padding:8px 12px;border:1px solid #667085;",
    "border-radius:10px;background:#fff;color:var(--text);}",
    ".send{min-height:44px;padding:0 16px;border:2px solid transparent;border-radius:10px;",
    "background:var(--accent);color:var(--on-accent);font-weight:600;}",
    "@media (max-width:520px){.floating .panel{inset:0;width:100%;max-width:none;height:100%;",
    "border:0;border-radius:0;}.root.floating.open .launcher{display:none;}}"
  ].join("\n");

  // Icons as SVG paths (Material Icons, Apache 2.0): no icon font, no emoji font needed.
  var CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  var CLOSE_ICON = "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z";
  var THUMB_UP = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  var THUMB_DOWN = "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z";

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return key in values ? String(values[key]) : "";
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "text") node.textContent = String(value);
        else if (key === "class") node.className = value;
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svgIcon(path) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    svg.appendChild(p);
    return svg;
  }

  /** The URL if it is http(s), else null: nothing else ever becomes a clickable link. */
  function safeUrl(value, base) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, base);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function luminance(hex) {
    var rgb = [1, 3, 5].map(function (i) { return parseInt(hex.slice(i, i + 2), 16) / 255; });
    var lin = rgb.map(function (c) { return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }

  /** A valid #rgb/#rrggbb accent and the text colour (black or white) that contrasts more. */
  function accentColours(value) {
    var hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value || "") ? value.toLowerCase() : "#1d4ed8";
    if (hex.length === 4) hex = "#" + hex[1] + hex[1] + hex[2] + hex[2] + hex[3] + hex[3];
    var l = luminance(hex);
    var onWhite = 1.05 / (l + 0.05);
    var onBlack = (l + 0.05) / 0.05;
    return { accent: hex, on: onWhite >= onBlack ? "#ffffff" : "#000000" };
  }

  function readConfig(script) {
    var data = (script && script.dataset) || {};
    var scriptUrl = script && script.src ? script.src : location.href;
    var api = safeUrl((data.api || "").trim() || new URL(scriptUrl, location.href).origin, location.href);
    var lang = (data.lang || document.documentElement.lang || "en").toLowerCase().split("-")[0];
    return {
      api: (api || location.origin).replace(/\/+$/, ""),
      title: data.title || "Ask about culture",
      greeting: data.greeting || "Ask a question about the articles. Answers quote them, with links to the source.",
      placeholder: data.placeholder || "",
      accent: accentColours(data.accent),
      position: data.position === "left" ? "left" : "right",
      lang: STRINGS[lang] ? lang : "en",
      dir: RTL.indexOf(lang) >= 0 ? "rtl" : "ltr",
      suggestions: (data.suggestions || "").split("|").map(function (s) { return s.trim(); })
        .filter(Boolean).slice(0, 6),
      collection: (data.collection || "").trim() || null,
      // An LTI course session (the launched page's): sent as a Bearer token, never stored.
      token: (data.token || "").trim() || null,
      target: (data.target || "").trim() || null
    };
  }

  var counter = 0;

  function Chat(host, config, inline) {
    this.host = host;
    this.config = config;
    this.inline = inline;
    this.t = STRINGS[config.lang];
    this.id = "cqa" + (++counter);
    this.storageKey = "cultureqa:v1:" + config.api + "|" + (config.collection || "") + "|" +
      (inline ? "inline:" + config.target : "launcher");
    this.turns = [];
    this.conversationId = null;  // the server's, from the first answer: follow-ups and erasure
    this.open = inline;
    this.restore();
    this.build();
    this.turns.forEach(function (turn) { this.renderTurn(turn); }, this);
    this.setOpen(this.open, false);
  }

  Chat.prototype.restore = function () {
    try {
      var saved = JSON.parse(sessionStorage.getItem(this.storageKey) || "null");
      if (saved && Array.isArray(saved.turns)) {
        this.turns = saved.turns.filter(function (t) { return t && typeof t.question === "string"; });
        this.turns.forEach(function (t) {
          if (t.status === "pending") { t.status = "error"; t.error = { kind: "offline" }; }
        });
        if (!this.inline) this.open = !!saved.open;
        if (typeof saved.conversation === "string") this.conversationId = saved.conversation;
      }
    } catch (e) { /* storage blocked or corrupt: start afresh */ }
  };

  Chat.prototype.save = function () {
    try {
      sessionStorage.setItem(this.storageKey, JSON.stringify({
        turns: this.turns.slice(-30), open: this.open, conversation: this.conversationId
      }));
    } catch (e) { /* storage blocked or full: the conversation lives for this page view only */ }
  };

  Chat.prototype.build = function () {
    var t = this.t;
    var c = this.config;
    var shadow = this.host.attachShadow({ mode: "open" });
    // A constructed style sheet: not an inline <style>, so a strict page CSP still allows it.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      shadow.appendChild(el("style", { text: CSS }));
    }
    var root = el("div", {
      class: "root " + (this.inline ? "inline" : "floating") + (c.position === "left" ? " left" : ""),
      dir: c.dir,
      lang: c.lang
    });
    root.style.setProperty("--accent", c.accent.accent);
    root.style.setProperty("--on-accent", c.accent.on);
    this.root = root;
    var panelId = this.id + "-panel";
    var titleId = this.id + "-title";

    if (!this.inline) {
      this.launcher = el("button", {
        type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": panelId
      }, [svgIcon(CHAT_ICON), el("span", { text: c.title })]);
      this.launcher.addEventListener("click", this.toggle.bind(this));
      root.appendChild(this.launcher);
    }

    var header = el("header", {}, [el("h2", { id: titleId, text: c.title })]);
    var clear = el("button", { type: "button", class: "icon", text: t.clear });
    clear.addEventListener("click", this.clear.bind(this));
    header.appendChild(clear);
    if (!this.inline) {
      var close = el("button", { type: "button", class: "icon close", "aria-label": t.close, title: t.close }, [svgIcon(CLOSE_ICON)]);
      close.addEventListener("click", this.close.bind(this));
      header.appendChild(close);
    }

    this.log = el("div", { class: "log", role: "log", "aria-live": "off", "aria-labelledby": titleId, tabindex: "-1" });
    this.log.appendChild(el("div", { class: "msg a greeting" }, [el("p", { text: c.greeting, dir: "auto" })]));
    this.status = el("div", { class: "sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });

    this.suggestionBox = null;
    if (c.suggestions.length) {
      this.suggestionBox = el("div", { class: "suggestions", role: "group", "aria-label": t.suggestions });
      c.suggestions.forEach(function (question) {
        var chip = el("button", { type: "button", class: "chip", text: question, dir: "auto" });
        chip.addEventListener("click", function () { this.submit(question); }.bind(this));
        this.suggestionBox.appendChild(chip);
      }, this);
    }

    var inputId = this.id + "-input";
    this.input = el("input", {
      id: inputId, type: "text", name: "question", autocomplete: "off", maxlength: "1000",
      placeholder: c.placeholder || t.label, dir: "auto", enterkeyhint: "send"
    });
    var form = el("form", { novalidate: true }, [
      el("label", { class: "sr", for: inputId, text: t.label }),
      this.input,
      el("button", { type: "submit", class: "send", text: t.send })
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      this.submit(this.input.value);
    }.bind(this));

    this.panel = el("section", {
      id: panelId, class: "panel", role: this.inline ? "region" : "dialog", "aria-labelledby": titleId
    }, [header, this.log, this.suggestionBox, form, this.status]);
    root.appendChild(this.panel);
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !this.inline && this.open) {
        event.preventDefault();
        this.close();
      }
    }.bind(this));
    shadow.appendChild(root);
  };

  Chat.prototype.setOpen = function (open, moveFocus) {
    this.open = open;
    if (this.launcher) this.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    this.root.classList.toggle("open", open);
    this.panel.hidden = !open;
    if (this.suggestionBox) this.suggestionBox.hidden = this.turns.length > 0;
    if (open) this.scrollDown();
    if (moveFocus) (open ? this.input : this.launcher).focus();
    this.save();
  };

  Chat.prototype.toggle = function () { this.setOpen(!this.open, true); };
  Chat.prototype.close = function () { this.setOpen(false, true); };

  Chat.prototype.clear = function () {
    this.turns = [];
    this.conversationId = null;  // the server starts a new one with the next question
    Array.prototype.slice.call(this.log.querySelectorAll(".turn")).forEach(function (n) { n.remove(); });
    if (this.suggestionBox) this.suggestionBox.hidden = false;
    this.save();
    this.input.focus();
  };

  Chat.prototype.announce = function (text) {
    var status = this.status;
    status.textContent = "";
    // A fresh text node after a tick, so that screen readers announce repeated messages too.
    setTimeout(function () { status.textContent = text; }, 50);
  };

  Chat.prototype.scrollDown = function () { this.log.scrollTop = this.log.scrollHeight; };

  Chat.prototype.submit = function (text) {
    var question = (text || "").trim();
    if (!question || this.turns.some(function (t) { return t.status === "pending"; })) return;
    this.input.value = "";
    var turn = { question: question, status: "pending" };
    this.turns.push(turn);
    if (this.suggestionBox) this.suggestionBox.hidden = true;
    this.renderTurn(turn);
    this.run(turn);
  };

  /** The last few answered turns before `turn`, as /ask's `history`. */
  Chat.prototype.historyFor = function (turn) {
    var earlier = this.turns.slice(0, this.turns.indexOf(turn)).filter(function (t) { return t.status === "done"; });
    return earlier.slice(-HISTORY_TURNS).map(function (t) {
      var shown = shownAnswer(t.response);
      var cited = shown && shown.citation ? shown.citation.article_id : null;
      return typeof cited === "string" ? { question: t.question, article_id: cited } : { question: t.question };
    });
  };

  Chat.prototype.run = function (turn) {
    var self = this;
    turn.status = "pending";
    delete turn.error;
    this.save();
    this.renderTurn(turn);
    this.announce(this.t.thinking);
    var body = { question: turn.question, top_k: TOP_K };
    var history = this.historyFor(turn);
    if (history.length) body.history = history;
    if (this.config.collection) body.collection = this.config.collection;
    if (this.conversationId) body.conversation_id = this.conversationId;
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    fetch(this.config.api + "/ask", {
      method: "POST",
      headers: this.headers(),
      body: JSON.stringify(body),
      credentials: "omit",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.ok) return response.json().then(function (json) { return { json: json }; });
      return response.json().catch(function () { return null; }).then(function (json) {
        var kind = response.status === 429 ? "busy" : response.status === 503 ? "unavailable"
          : response.status >= 500 ? "server" : "invalid";
        var message = json && json.error && typeof json.error.message === "string" ? json.error.message : "";
        return { error: { kind: kind, status: response.status, message: message } };
      });
    }, function () {
      return { error: { kind: "offline" } };
    }).then(function (outcome) {
      clearTimeout(timer);
      if (outcome.error) {
        turn.status = "error";
        turn.error = outcome.error;
      } else {
        turn.status = "done";
        turn.response = outcome.json;
        var cid = outcome.json && outcome.json.conversation_id;
        if (typeof cid === "string" && cid) self.conversationId = cid;
      }
      self.save();
      self.renderTurn(turn);
      self.announce(turn.status === "done" ? format(self.t.answer, { text: answerText(turn.response, self.t) })
        : errorText(turn.error, self.t));
    });
  };

  /** What the widget shows as the answer: the server's `answer` when the response has the
   * field, else the top passage; null when nothing relevant was found. */
  function shownAnswer(response) {
    if (!response || typeof response !== "object") return null;
    var passages = Array.isArray(response.passages) ? response.passages : [];
    if ("answer" in response) {
      var answer = response.answer;
      if (!answer || typeof answer !== "object") return null;
      var text = typeof answer.text === "string" ? answer.text
        : typeof answer.sentence === "string" ? answer.sentence : null;
      var citation = answer.citation && typeof answer.citation === "object" ? answer.citation : null;
      var passageId = answer.passage_id || answer.passage || null;
      var passage = passages.filter(function (p) { return p && p.id === passageId; })[0] ||
        (citation ? passages.filter(function (p) {
          return p && p.citation && p.citation.article_id === citation.article_id && p.citation.anchor === citation.anchor;
        })[0] : null) || passages[0] || null;
      if (!citation && passage) citation = passage.citation;
      if (text === null && passage) text = passage.text;
      return text === null ? null : { text: text, citation: citation, passage: passage };
    }
    var top = passages[0];
    if (!top || typeof top.text !== "string" || (typeof top.score === "number" && top.score < MIN_SCORE)) return null;
    return { text: top.text, citation: top.citation, passage: top };
  }

  function answerText(response, t) {
    var shown = shownAnswer(response);
    return shown ? shown.text : noAnswerText(response, t);
  }

  /** Why there is no answer, in plain words: the places no article covers when the server says
   * so (their names as it sends them), else "nothing relevant". */
  function noAnswerText(response, t) {
    var match = response && response.no_answer_code === "place_not_covered" &&
      typeof response.no_answer_reason === "string" &&
      /^no article here covers (.+?); the articles cover/.exec(response.no_answer_reason);
    return match ? format(t.elsewhere, { places: match[1] }) + " " + t.nothing : t.nothing;
  }

  function errorText(error, t) {
    if (!error) return t.server;
    if (error.kind === "invalid") return format(t.invalid, { msg: error.message || String(error.status || "") });
    return t[error.kind] || t.server;
  }

  /** Where a citation links: the article's own http(s) page, else this server's article page. */
  Chat.prototype.citationHref = function (citation) {
    if (!citation || typeof citation !== "object") return null;
    if (safeUrl(citation.source_url)) return safeUrl(citation.link) || safeUrl(citation.source_url);
    if (typeof citation.page === "string" && citation.page.charAt(0) === "/") {
      return safeUrl(this.config.api + citation.page);
    }
    return safeUrl(citation.link);
  };

  Chat.prototype.citationNode = function (number, citation) {
    var path = citation && typeof citation.heading_path === "string" ? citation.heading_path.split(" > ").join(" › ") : "";
    var label = [citation && citation.title, path].filter(Boolean).join(" › ");
    var href = this.citationHref(citation);
    var num = el("span", { class: "num", text: "[" + number + "] " });
    if (!href) return el("span", { class: "nolink" }, [num, el("span", { text: label, dir: "auto" })]);
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer", class: "cite" }, [
      num, el("span", { text: label, dir: "auto" }), el("span", { class: "sr", text: " " + this.t.newTab })
    ]);
  };

  Chat.prototype.renderTurn = function (turn) {
    var t = this.t;
    var node = turn.node && turn.node.isConnected ? turn.node : null;
    var fresh = el("div", { class: "turn" });
    Object.defineProperty(turn, "node", { value: fresh, writable: true, configurable: true, enumerable: false });
    fresh.appendChild(el("div", { class: "msg q" }, [
      el("span", { class: "sr", text: t.you + ": " }), el("p", { text: turn.question, dir: "auto" })
    ]));
    var reply = el("div", { class: "msg a" });
    fresh.appendChild(reply);
    if (turn.status === "pending") {
      reply.setAttribute("aria-busy", "true");
      reply.appendChild(el("p", { class: "thinking", text: t.thinking }));
    } else if (turn.status === "error") {
      reply.appendChild(el("p", { class: "error", text: errorText(turn.error, t) }));
      var retry = el("button", { type: "button", class: "chip retry", text: t.retry });
      retry.addEventListener("click", function () { this.run(turn); }.bind(this));
      reply.appendChild(el("div", { class: "row" }, [retry]));
    } else {
      this.renderAnswer(turn, reply);
    }
    if (node) node.replaceWith(fresh);
    else this.log.appendChild(fresh);
    if (turn.status === "pending") this.scrollDown();
    // An answer is read from its start: bring its question to the top of the log.
    else this.log.scrollTop = Math.max(0, fresh.offsetTop - this.log.offsetTop - 8);
  };

  Chat.prototype.renderAnswer = function (turn, reply) {
    var t = this.t;
    var response = turn.response || {};
    var shown = shownAnswer(response);
    if (!shown) {
      reply.appendChild(el("p", { class: "nothing", text: noAnswerText(response, t), dir: "auto" }));
      this.renderRelated(response, reply);
      return;
    }
    reply.appendChild(el("p", { class: "answer-text", text: shown.text, dir: "auto" }));
    var cites = el("ul", { class: "cite-list", "aria-label": t.source });
    cites.appendChild(el("li", {}, [this.citationNode(1, shown.citation)]));
    reply.appendChild(cites);

    var others = (Array.isArray(response.passages) ? response.passages : []).filter(function (p) {
      return p && p !== shown.passage && typeof p.text === "string";
    });
    if (others.length) {
      var moreId = this.id + "-more-" + this.turns.indexOf(turn);
      var list = el("ol", { class: "more", id: moreId, hidden: true });
      others.forEach(function (passage, i) {
        list.appendChild(el("li", {}, [
          el("p", { text: passage.text, dir: "auto" }),
          this.citationNode(i + 2, passage.citation)
        ]));
      }, this);
      var toggle = el("button", {
        type: "button", class: "chip more-toggle", "aria-expanded": "false", "aria-controls": moreId,
        text: format(t.more, { n: others.length })
      });
      toggle.addEventListener("click", function () {
        var expand = list.hidden;
        list.hidden = !expand;
        toggle.setAttribute("aria-expanded", expand ? "true" : "false");
        toggle.textContent = expand ? t.less : format(t.more, { n: others.length });
      });
      reply.appendChild(el("div", { class: "row" }, [toggle]));
      reply.appendChild(list);
    }
    reply.appendChild(this.feedbackRow(turn, shown));
  };

  /** With no answer, the closest passages are still worth reading: listed under a heading that
   * says they are not an answer. */
  Chat.prototype.renderRelated = function (response, reply) {
    var passages = (Array.isArray(response.passages) ? response.passages : []).filter(function (p) {
      return p && typeof p.text === "string";
    }).slice(0, RELATED_PASSAGES);
    if (!passages.length) return;
    var headingId = this.id + "-related-" + (this.relatedCount = (this.relatedCount || 0) + 1);
    reply.appendChild(el("p", { class: "related-heading", id: headingId, text: this.t.related }));
    var list = el("ol", { class: "more related", "aria-labelledby": headingId });
    passages.forEach(function (passage, i) {
      list.appendChild(el("li", {}, [
        el("p", { text: passage.text, dir: "auto" }),
        this.citationNode(i + 1, passage.citation)
      ]));
    }, this);
    reply.appendChild(list);
  };

  Chat.prototype.feedbackRow = function (turn, shown) {
    var t = this.t;
    var self = this;
    var note = el("span", { class: "note", role: "status" });
    var row = el("div", { class: "row feedback", role: "group", "aria-label": t.rate });
    [["up", THUMB_UP, t.helpful], ["down", THUMB_DOWN, t.unhelpful]].forEach(function (choice) {
      var button = el("button", {
        type: "button", class: "chip rate rate-" + choice[0], "aria-label": choice[2], title: choice[2],
        "aria-pressed": turn.feedback === choice[0] ? "true" : "false"
      }, [svgIcon(choice[1])]);
      button.addEventListener("click", function () {
        if (turn.feedback === choice[0]) return;
        self.sendFeedback(turn, shown, choice[0]).then(function (ok) {
          if (ok) {
            turn.feedback = choice[0];
            self.save();
            row.querySelectorAll("button").forEach(function (b) {
              b.setAttribute("aria-pressed", b === button ? "true" : "false");
            });
          }
          note.textContent = ok ? t.thanks : t.feedbackFailed;
        });
      });
      row.appendChild(button);
    });
    row.appendChild(note);
    return row;
  };

  Chat.prototype.headers = function () {
    var headers = { "Content-Type": "application/json" };
    if (this.config.token) headers.Authorization = "Bearer " + this.config.token;
    return headers;
  };

  Chat.prototype.sendFeedback = function (turn, shown, rating) {
    var response = turn.response || {};
    var body = { rating: rating, question: turn.question };
    if (shown.passage && typeof shown.passage.id === "string") body.passage_id = shown.passage.id;
    if (shown.citation && typeof shown.citation.article_id === "string") body.article_id = shown.citation.article_id;
    if (typeof response.index_version === "string") body.index_version = response.index_version;
    if (typeof response.ask_id === "string") body.ask_id = response.ask_id;
    if (typeof response.conversation_id === "string") body.conversation_id = response.conversation_id;
    if (this.config.collection) body.collection = this.config.collection;
    return fetch(this.config.api + "/feedback", {
      method: "POST", headers: this.headers(), body: JSON.stringify(body), credentials: "omit"
    }).then(function (r) { return r.ok; }, function () { return false; });
  };

  function mount(script) {
    var config = readConfig(script);
    var target = null;
    if (config.target) {
      try { target = document.querySelector(config.target); } catch (e) { target = null; }
    }
    var host = document.createElement(TAG);
    host.setAttribute("data-mode", target ? "inline" : "launcher");
    (target || document.body).appendChild(host);
    host.cultureqa = new Chat(host, config, !!target);
  }

  if (!customElements.get(TAG)) {
    customElements.define(TAG, class extends HTMLElement {});
  }
  var current = document.currentScript ||
    document.querySelector('script[src$="/widget.js"]:not([data-cultureqa-mounted])');
  if (current) current.setAttribute("data-cultureqa-mounted", "");
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { mount(current); });
  } else {
    mount(current);
  }
})();
