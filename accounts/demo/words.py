"""The demo's own words in its organization's language: the catalogue (accounts/demo/
catalogue.py, triggers/demo/, health/demo.py) is written in English, and a Brazilian demo
organization gets these instead (products, churn reasons, personas, playbook templates and
their steps, trigger names, ticket subjects, interactions, notes). These are the
organization's data, not the interface's: they are written once, in one language, as a
customer would have typed them. Pure data, no database.

The English text stays the key everything else is matched on (the catalogue's churn reasons
map to their rows by it), so an English demo and a Brazilian one draw the same portfolio."""

from __future__ import annotations

from collections.abc import Callable

PT_BR: dict[str, str] = {
    # products: name, description
    "Core platform": "Plataforma principal",
    "Customer records, workflows and reporting.": "Cadastro de clientes, fluxos e relatórios.",
    "Analytics": "Analytics",
    "Dashboards, cohorts and scheduled reports.": "Painéis, coortes e relatórios agendados.",
    "Payments": "Pagamentos",
    "Card, Pix and boleto processing.": "Processamento de cartão, Pix e boleto.",
    "Marketplace": "Marketplace",
    "Sell through partner marketplaces.": "Venda em marketplaces parceiros.",
    "Mobile app": "App mobile",
    "White-label mobile app for end customers.": "App mobile white-label para clientes finais.",
    # industries (the persona "Healthcare" is the industry's), channels
    "Retail": "Varejo",
    "Financial services": "Serviços financeiros",
    "Education": "Educação",
    "Manufacturing": "Indústria",
    "Logistics": "Logística",
    "Technology": "Tecnologia",
    "Agribusiness": "Agronegócio",
    "Hospitality": "Hotelaria e turismo",
    "Professional services": "Serviços profissionais",
    "Inbound": "Inbound",
    "Outbound": "Outbound",
    "Partner": "Parceiro",
    "Referral": "Indicação",
    "Events": "Eventos",
    "Direct": "Direto",
    "Self-service": "Autoatendimento",
    # churn reasons
    "Price": "Preço",
    "Product fit": "Aderência do produto",
    "Support quality": "Qualidade do suporte",
    "Went out of business": "Encerrou as atividades",
    "Competitor": "Concorrente",
    "Low adoption": "Baixa adoção",
    "Budget cuts": "Corte de orçamento",
    # personas: name, description
    "Strategic logos": "Logos estratégicos",
    "Reference customers picked by hand by the CS leadership.": (
        "Clientes de referência escolhidos a dedo pela liderança de CS."
    ),
    "Enterprise high-touch": "Enterprise high-touch",
    "Diamond and platinum accounts with a dedicated CSM.": (
        "Contas diamante e platina com CSM dedicado."
    ),
    "Healthcare": "Saúde",
    "Clinics, hospitals and labs: regulated, with their own playbooks.": (
        "Clínicas, hospitais e laboratórios: regulados, com playbooks próprios."
    ),
    "Mid-market": "Mid-market",
    "Gold accounts worked in pooled mid-touch.": (
        "Contas ouro atendidas em mid-touch compartilhado."
    ),
    "Payments merchants": "Lojistas de pagamentos",
    "Mid-touch merchants that process payments with us.": (
        "Lojistas mid-touch que processam pagamentos conosco."
    ),
    "SMB tech-touch": "PMEs tech-touch",
    "Small accounts served by low-touch and digital programmes.": (
        "Contas pequenas atendidas por programas low-touch e digitais."
    ),
    # playbook templates and their steps
    "Onboarding: welcome": "Onboarding: boas-vindas",
    "Welcome call": "Ligação de boas-vindas",
    "Introduce yourself, agree goals and the go-live date.": (
        "Apresente-se, combine os objetivos e a data de go-live."
    ),
    "Welcome mail with the how-to video and guide": (
        "E-mail de boas-vindas com o vídeo e o guia de uso"
    ),
    "Send the welcome kit.": "Envie o kit de boas-vindas.",
    "Check adoption at day 30": "Verificar a adoção no dia 30",
    "Are the key features in use? If not, plan a session.": (
        "As principais funcionalidades estão em uso? Se não, agende uma sessão."
    ),
    "Retention: save the account": "Retenção: salvar a conta",
    "Confirm the risk with the data": "Confirmar o risco com os dados",
    "Read the health breakdown and the evidence.": "Leia a composição da saúde e as evidências.",
    "Call the decision maker": "Ligar para o decisor",
    "Hear their reasons; log the contact.": "Ouça os motivos; registre o contato.",
    "Agree a recovery plan": "Combinar um plano de recuperação",
    "Concrete actions and dates, shared in writing.": (
        "Ações e datas concretas, compartilhadas por escrito."
    ),
    "Manager review": "Revisão do gestor",
    "Is the plan enough? Escalate if not.": "O plano basta? Se não, escale.",
    "Check the health 30 days later": "Conferir a saúde 30 dias depois",
    "Has the score recovered?": "A nota se recuperou?",
    "Retention: collections and discounts": "Retenção: cobrança e descontos",
    "Review invoices and discounts": "Revisar faturas e descontos",
    "Overdue amounts, discount level, payment history.": (
        "Valores em atraso, nível de desconto, histórico de pagamentos."
    ),
    "Call the billing contact": "Ligar para o contato financeiro",
    "Agree a payment plan.": "Combine um plano de pagamento.",
    "Manager sign-off on any new discount": "Aprovação do gestor para qualquer novo desconto",
    "Retention: support escalation": "Retenção: escalonamento de suporte",
    "Review the tickets over SLA": "Revisar os chamados fora do SLA",
    "With support: root causes and owners.": "Com o suporte: causas-raiz e responsáveis.",
    "Call the champion": "Ligar para o champion",
    "Apologise, explain the fix and the dates.": "Peça desculpas, explique a correção e os prazos.",
    "Confirm the fixes landed": "Confirmar que as correções foram entregues",
    "Retention: detractor follow-up": "Retenção: retorno ao detrator",
    "Call the detractor": "Ligar para o detrator",
    "Listen; log what they said.": "Escute; registre o que foi dito.",
    "Close the loop": "Fechar o ciclo",
    "Tell them what changed because of their answer.": (
        "Conte o que mudou por causa da resposta dele."
    ),
    "Renewal: 90 days ahead": "Renovação: 90 dias antes",
    "Prepare the renewal review": "Preparar a revisão de renovação",
    "Value delivered, usage, open issues.": "Valor entregue, uso, pendências.",
    "Renewal meeting": "Reunião de renovação",
    "With the decision maker.": "Com o decisor.",
    "Send the renewal proposal": "Enviar a proposta de renovação",
    "Manager sign-off": "Aprovação do gestor",
    # the expansion template (per product: %(product)s)
    "Expansion: offer %(product)s": "Expansão: oferecer %(product)s",
    "Review usage and growth": "Revisar uso e crescimento",
    "Is the account ready for more?": "A conta está pronta para mais?",
    "Pitch %(product)s to the sponsor": "Apresentar %(product)s ao patrocinador",
    "Log the call.": "Registre a ligação.",
    "Send the proposal": "Enviar a proposta",
    "With the expected MRR.": "Com o MRR esperado.",
    "Follow up on the proposal": "Acompanhar a proposta",
    "Won, lost or no opportunity.": "Ganha, perdida ou sem oportunidade.",
    "Cross-sell %(product)s.": "Venda cruzada de %(product)s.",
    # triggers
    "Score fell into red": "Nota caiu para o vermelho",
    "Transacted volume dropped 30% in 6 months": "Volume transacionado caiu 30% em 6 meses",
    "Delinquency or deep discount": "Inadimplência ou desconto alto",
    "Tickets over SLA": "Chamados fora do SLA",
    "Low CSAT": "CSAT baixo",
    "NPS detractor": "Detrator no NPS",
    "Monthly retention review": "Revisão mensal de retenção",
    "New customer onboarding": "Onboarding de novo cliente",
    # the journey's welcome mail (lifecycle.services.DEMO_WELCOME)
    "Welcome aboard! Your first steps: 1) invite your team, 2) connect your data, 3) book your "
    "training. Guide: https://example.com/start · Help centre: https://example.com/help": (
        "Boas-vindas! Seus primeiros passos: 1) convide seu time, 2) conecte seus dados, "
        "3) agende seu treinamento. Guia: https://example.com/start · "
        "Central de ajuda: https://example.com/help"
    ),
    "Renewal in 90 days": "Renovação em 90 dias",
    "%(persona)s: offer %(product)s": "%(persona)s: oferecer %(product)s",
    # ticket subjects
    "Cannot log in after password reset": "Não consigo entrar depois de trocar a senha",
    "Report export to CSV is slow": "A exportação do relatório em CSV está lenta",
    "Payment gateway timeout at checkout": "Tempo esgotado no gateway de pagamento no checkout",
    "Invoice amount does not match the contract": "Valor da fatura não bate com o contrato",
    "ERP integration failing since update": "Integração com o ERP falhando desde a atualização",
    "Mobile app crashes on Android": "App mobile fecha sozinho no Android",
    "Dashboard shows wrong totals": "Painel mostra totais errados",
    "New user permissions request": "Pedido de permissões para novo usuário",
    "API rate limit exceeded": "Limite de requisições da API excedido",
    "Data import failed with an encoding error": (
        "Importação de dados falhou por erro de codificação"
    ),
    "Marketplace orders not syncing": "Pedidos do marketplace não sincronizam",
    "Question about the billing cycle": "Dúvida sobre o ciclo de cobrança",
    "Feature request: custom fields on customers": (
        "Pedido de funcionalidade: campos personalizados nos clientes"
    ),
    "Webhook not delivered": "Webhook não entregue",
    "Pages load slowly in the afternoon": "Páginas carregam devagar à tarde",
    "Pix payments not reconciled": "Pagamentos Pix não conciliados",
    # interactions
    "Check-in call": "Ligação de acompanhamento",
    "Call about open support tickets": "Ligação sobre chamados de suporte abertos",
    "Renewal conversation": "Conversa sobre renovação",
    "Adoption review call": "Ligação de revisão de adoção",
    "Call about an overdue invoice": "Ligação sobre uma fatura em atraso",
    "Quarterly business review": "Revisão trimestral de negócios (QBR)",
    "Onboarding session": "Sessão de onboarding",
    "Roadmap presentation": "Apresentação do roadmap",
    "Executive alignment meeting": "Reunião de alinhamento executivo",
    "Training session for new users": "Treinamento para novos usuários",
    "Sent monthly usage report": "Relatório mensal de uso enviado",
    "Follow-up on a support ticket": "Retorno sobre um chamado de suporte",
    "Shared release notes": "Notas de versão compartilhadas",
    "Renewal reminder": "Lembrete de renovação",
    "Invited to the customer webinar": "Convite para o webinar de clientes",
    "On-site visit": "Visita presencial",
    "Visit with the executive sponsor": "Visita com o patrocinador executivo",
    "On-site training": "Treinamento presencial",
    # NPS comments
    "Great product, the team answers fast.": "Ótimo produto, o time responde rápido.",
    "It saves our team hours every week.": "Economiza horas do nosso time toda semana.",
    "Good overall, reports could be faster.": (
        "Bom no geral, os relatórios poderiam ser mais rápidos."
    ),
    "Does the job; the mobile app needs work.": "Resolve; o app mobile precisa melhorar.",
    "Fine, but onboarding new users takes long.": ("Bom, mas a entrada de novos usuários demora."),
    "Too expensive for what we use.": "Caro demais para o que usamos.",
    "Support takes days to answer.": "O suporte leva dias para responder.",
    "We are evaluating other tools.": "Estamos avaliando outras ferramentas.",
    "The product no longer fits our process.": "O produto não se encaixa mais no nosso processo.",
    # account notes
    "Quarterly business review every March; the sponsor prefers in-person meetings.": (
        "QBR todo mês de março; o patrocinador prefere reuniões presenciais."
    ),
    "Migrated from a competitor in their first year; watch data import questions.": (
        "Migrou de um concorrente no primeiro ano; atenção a dúvidas de importação de dados."
    ),
    "Uses Pix heavily; billing contact asks for boletos by email.": (
        "Usa muito Pix; o contato financeiro pede boletos por e-mail."
    ),
    "Multi-site customer: each branch has its own admin user.": (
        "Cliente com várias unidades: cada filial tem seu próprio usuário administrador."
    ),
    "Asked for SSO on the roadmap call; revisit at renewal.": (
        "Pediu SSO na conversa de roadmap; retomar na renovação."
    ),
    "Champion changed jobs last year; rebuild the relationship with the new coordinator.": (
        "O champion mudou de emprego no ano passado; reconstruir a relação com a nova coordenação."
    ),
    # consent sources
    "signup form": "formulário de cadastro",
    "contract": "contrato",
    "event": "evento",
    "email opt-in": "opt-in por e-mail",
    # the simulated CSM work
    "Seasonal dip, the customer confirmed": "Queda sazonal, o cliente confirmou",
    "Known issue already being handled": "Problema conhecido, já em tratamento",
    "Data problem on our side": "Problema de dados do nosso lado",
    "Spoke to the sponsor: no risk": "Falei com o patrocinador: sem risco",
    "Simulated by the demo seed.": "Simulado pela carga de demonstração.",
}

WORDS = {"pt-br": PT_BR, "pt": PT_BR}


def demo_words(locale: str) -> Callable[..., str]:
    """w(text, **values): the demo's `text` in the organization's `locale` (the English
    itself when there is no translation), its %(name)s placeholders filled from `values`."""
    table = WORDS.get((locale or "").lower().replace("_", "-"), {})

    def w(text: str, **values) -> str:
        said = table.get(text, text)
        return said % values if values else said

    return w
